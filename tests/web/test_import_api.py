"""Admins import history into claims that are not open."""

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, auth, make_claim

SLUG = "gen-video-out-of-top-five"


def _rows(**change: object) -> list[dict[str, object]]:
    row = {
        "claim": SLUG,
        "handle": "alice",
        "probability": 0.3,
        "created_at": "2025-12-10T00:00:00Z",
    }
    row.update(change)
    return [row]


def test_import_into_a_closed_claim(client: TestClient, tokens: Tokens) -> None:
    make_claim(
        client, tokens.editor, opens_at=T0 - timedelta(days=30), closes_at=T0 - timedelta(days=1)
    )
    rows = _rows() + _rows(handle="bob", probability=0.6, created_at="2025-12-20T00:00:00Z")
    response = client.post("/api/v1/import/forecasts", json=rows, headers=auth(tokens.admin))
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 2
    listed = client.get(f"/api/v1/claims/{SLUG}/forecasts").json()["items"]
    assert [(f["handle"], f["probability"]) for f in listed] == [("alice", 0.3), ("bob", 0.6)]
    claim = client.get(f"/api/v1/claims/{SLUG}").json()
    assert claim["forecasters"] == 2 and claim["market_probability"] == 0.6
    entry = client.get("/api/v1/ledger").json()["items"][-1]
    assert entry["kind"] == "forecast_imported" and entry["payload"]["handle"] == "bob"


def test_import_refusals(client: TestClient, tokens: Tokens) -> None:
    make_claim(
        client, tokens.editor, opens_at=T0 - timedelta(days=30), closes_at=T0 - timedelta(days=1)
    )
    url = "/api/v1/import/forecasts"
    assert client.post(url, json=_rows(), headers=auth(tokens.editor)).status_code == 403
    unknown = client.post(url, json=_rows(handle="nobody"), headers=auth(tokens.admin))
    assert unknown.status_code == 422 and "nobody" in unknown.text
    outside = client.post(
        url, json=_rows(created_at="2025-11-01T00:00:00Z"), headers=auth(tokens.admin)
    )
    assert outside.status_code == 422 and "created_at" in outside.text
    bad = client.post(url, json=_rows(probability=1.0), headers=auth(tokens.admin))
    assert bad.status_code == 422 and "probability" in bad.text
    make_claim(client, tokens.editor, slug="open-claim")
    opened = client.post(
        url,
        json=_rows(claim="open-claim", created_at="2026-01-01T00:00:00Z"),
        headers=auth(tokens.admin),
    )
    assert opened.status_code == 409
    assert client.get("/api/v1/ledger/head").json()["seq"] == 2  # only the two publications
