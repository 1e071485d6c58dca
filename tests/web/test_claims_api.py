"""Claims through the HTTP API: create, list, read, change, publish, statuses by the clock."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, claim_body, make_claim

SLUG = "gen-video-out-of-top-five"


def test_create_and_read(client: TestClient, tokens: Tokens) -> None:
    claim = make_claim(client, tokens.editor, tags=["video", "app-store"])
    assert claim["status"] == "open"
    assert claim["tags"] == ["app-store", "video"]
    assert claim["crowd_probability"] is None and claim["market_probability"] == 0.5
    assert claim["resolves_at"] == claim["closes_at"]
    read = client.get(f"/api/v1/claims/{SLUG}").json()
    assert read["title"] == claim["title"]
    entries = client.get("/api/v1/ledger").json()["items"]
    assert [e["kind"] for e in entries] == ["claim_published"]
    assert entries[0]["payload"]["claim"] == SLUG


TEXT_RULE = {"url": "https://x.test/a.txt", "format": "text", "expression": "`true`"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "Bad_Slug"}, "slug"),
        ({"slug": "-x"}, "slug"),
        ({"closes_at": "2026-03-01T00:00:00"}, "closes_at"),
        ({"resolution_criteria": ""}, "resolution_criteria"),
        ({"title": "a\u0000b"}, "title"),
        ({"tags": ["Not A Tag"]}, "tags"),
        ({"opens_at": "2026-02-01T00:00:00Z", "closes_at": "2026-01-15T00:00:00Z"}, "closes_at"),
        ({"resolves_at": "2026-01-02T00:00:00Z"}, "resolves_at"),
        (
            {"rules": [{"url": "https://x.test/a.json", "format": "json", "expression": "a[?"}]},
            "expression",
        ),
        (  # a backreference: RE2 (linear time) has none
            {"rules": [{**TEXT_RULE, "select": "(v)\\1"}]},
            "not a regular expression RE2 accepts",
        ),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_claims_are_422(
    client: TestClient, tokens: Tokens, change: dict[str, object], field: str
) -> None:
    body = claim_body()
    body.update(change)
    response = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
    assert response.status_code == 422, response.text
    assert field in response.text


def test_duplicate_slug_is_409(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor)
    again = client.post("/api/v1/claims", json=claim_body(), headers=auth(tokens.editor))
    assert again.status_code == 409


def test_roles(client: TestClient, tokens: Tokens) -> None:
    assert client.post("/api/v1/claims", json=claim_body()).status_code == 401
    assert (
        client.post("/api/v1/claims", json=claim_body(), headers=auth(tokens.alice)).status_code
        == 403
    )
    assert (
        client.post("/api/v1/claims", json=claim_body(), headers=auth(tokens.admin)).status_code
        == 201
    )


def test_statuses_follow_the_clock(client: TestClient, tokens: Tokens, clock: FakeClock) -> None:
    make_claim(
        client, tokens.editor, opens_at=T0 + timedelta(days=1), closes_at=T0 + timedelta(days=2)
    )
    assert client.get(f"/api/v1/claims/{SLUG}").json()["status"] == "upcoming"
    clock.set(T0 + timedelta(days=1))
    assert client.get(f"/api/v1/claims/{SLUG}").json()["status"] == "open"
    clock.set(T0 + timedelta(days=2))
    read = client.get(f"/api/v1/claims/{SLUG}").json()
    assert read["status"] == "closed" and read["closed_at"] == read["closes_at"]


def test_past_window_starts_closed(client: TestClient, tokens: Tokens) -> None:
    claim = make_claim(
        client, tokens.editor, opens_at=T0 - timedelta(days=30), closes_at=T0 - timedelta(days=1)
    )
    assert claim["status"] == "closed"


def test_drafts_are_for_editors_until_published(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, status="draft")
    assert client.get(f"/api/v1/claims/{SLUG}").status_code == 404
    assert (
        client.get(f"/api/v1/claims/{SLUG}", headers=auth(tokens.editor)).json()["status"]
        == "draft"
    )
    forecast = client.post(
        f"/api/v1/claims/{SLUG}/forecasts", json={"probability": 0.5}, headers=auth(tokens.alice)
    )
    assert forecast.status_code == 404  # a draft is an unknown slug to forecasters
    forecast = client.post(
        f"/api/v1/claims/{SLUG}/forecasts", json={"probability": 0.5}, headers=auth(tokens.editor)
    )
    assert forecast.status_code == 409
    assert client.get("/api/v1/ledger").json()["items"] == []
    published = client.post(f"/api/v1/claims/{SLUG}/publish", headers=auth(tokens.editor))
    assert published.status_code == 200 and published.json()["status"] == "open"
    assert (
        client.post(f"/api/v1/claims/{SLUG}/publish", headers=auth(tokens.editor)).status_code
        == 409
    )


def test_list_filters_and_pages(client: TestClient, tokens: Tokens, clock: FakeClock) -> None:
    for index in range(5):
        make_claim(
            client,
            tokens.editor,
            slug=f"claim-{index}",
            tags=["even" if index % 2 == 0 else "odd"],
            closes_at=T0 + timedelta(days=1 + index),
        )
    page = client.get("/api/v1/claims?limit=2").json()
    assert [c["slug"] for c in page["items"]] == ["claim-4", "claim-3"]
    second = client.get(f"/api/v1/claims?limit=2&cursor={page['next_cursor']}").json()
    assert [c["slug"] for c in second["items"]] == ["claim-2", "claim-1"]
    evens = client.get("/api/v1/claims?tag=even").json()["items"]
    assert {c["slug"] for c in evens} == {"claim-0", "claim-2", "claim-4"}
    clock.set(T0 + timedelta(days=2, hours=12))
    closed = client.get("/api/v1/claims?status=closed").json()["items"]
    assert {c["slug"] for c in closed} == {"claim-0", "claim-1"}
    opened = client.get("/api/v1/claims?status=open").json()["items"]
    assert {c["slug"] for c in opened} == {"claim-2", "claim-3", "claim-4"}
    assert client.get("/api/v1/claims?status=nonsense").status_code == 422
    assert client.get("/api/v1/claims?cursor=%%%").status_code == 422
    assert client.get("/api/v1/claims?limit=501").status_code == 422


def test_patch_text_any_time_and_criteria_versioned_after_first_forecast(
    client: TestClient, tokens: Tokens
) -> None:
    make_claim(client, tokens.editor)
    url = f"/api/v1/claims/{SLUG}"
    early = client.patch(
        url, json={"resolution_criteria": "v1 reworded"}, headers=auth(tokens.editor)
    )
    assert early.status_code == 200 and early.json()["version"] == 1
    client.post(f"{url}/forecasts", json={"probability": 0.5}, headers=auth(tokens.alice))
    amended = client.patch(
        url, json={"resolution_criteria": "v2", "tags": ["new"]}, headers=auth(tokens.editor)
    )
    assert amended.status_code == 200
    assert amended.json()["version"] == 2 and amended.json()["tags"] == ["new"]
    kinds = [e["kind"] for e in client.get("/api/v1/ledger").json()["items"]]
    # every change of a published claim is recorded (a new version only after a forecast)
    assert kinds == [
        "claim_published",
        "criteria_amended",
        "forecast_submitted",
        "criteria_amended",
        "claim_text_amended",
    ]
    assert client.patch(url, json={"title": "x"}, headers=auth(tokens.alice)).status_code == 403


def test_window_only_shortens_after_first_forecast(
    client: TestClient, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=10))
    url = f"/api/v1/claims/{SLUG}"
    longer = client.patch(
        url, json={"closes_at": "2026-02-01T00:00:00Z"}, headers=auth(tokens.editor)
    )
    assert longer.status_code == 200
    client.post(f"{url}/forecasts", json={"probability": 0.5}, headers=auth(tokens.alice))
    assert (
        client.patch(
            url, json={"closes_at": "2026-03-01T00:00:00Z"}, headers=auth(tokens.editor)
        ).status_code
        == 409
    )
    past = client.patch(
        url, json={"closes_at": "2025-12-31T00:00:00Z"}, headers=auth(tokens.editor)
    )
    assert past.status_code in (409, 422)
    shorter = client.patch(
        url, json={"closes_at": "2026-01-05T00:00:00Z"}, headers=auth(tokens.editor)
    )
    assert shorter.status_code == 200
    assert shorter.json()["closes_at"] == "2026-01-05T00:00:00.000000Z"
    assert shorter.json()["resolves_at"] == "2026-02-01T00:00:00.000000Z"  # left as it was
    assert (
        client.patch(
            url, json={"opens_at": "2026-01-02T00:00:00Z"}, headers=auth(tokens.editor)
        ).status_code
        == 409
    )


def test_unknown_claim_404(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/api/v1/claims/nope").status_code == 404
    assert (
        client.patch("/api/v1/claims/nope", json={}, headers=auth(tokens.editor)).status_code == 404
    )


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["ledger_head"]["seq"] == 0
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/claims/{slug}/forecasts"]["post"]
    assert {"201", "401", "404", "409", "422"} <= set(post["responses"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/claims/a%00b",
        "/api/v1/claims?tag=a%00",
        "/api/v1/ledger?x%00=1",
        "/api/v1/forecasters/a%00",
    ],
)
def test_nul_bytes_in_paths_and_queries_are_422(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 422, response.text
    assert "NUL" in response.text


def test_a_listed_claim_reads_as_it_does_alone(client: TestClient, tokens: Tokens) -> None:
    """The list renders its claims together (a few queries for all); each item must equal the
    claim read on its own: probabilities, tags, and the caller's own standing forecast."""
    for i, tags in enumerate((["video", "apps"], [], ["cost"])):
        make_claim(client, tokens.editor, slug=f"listed-{i}", tags=tags)
    forecasts = {"listed-0": (0.2, "cheap"), "listed-2": (0.9, None)}
    for slug, (p, why) in forecasts.items():
        body = {"probability": p, "rationale": why}
        assert (
            client.post(
                f"/api/v1/claims/{slug}/forecasts", json=body, headers=auth(tokens.alice)
            ).status_code
            == 201
        )
    client.post(
        "/api/v1/claims/listed-0/forecasts", json={"probability": 0.6}, headers=auth(tokens.bob)
    )
    client.post("/api/v1/claims/listed-2/withdraw", headers=auth(tokens.alice))
    listed = client.get("/api/v1/claims", headers=auth(tokens.alice)).json()["items"]
    assert [item["slug"] for item in listed] == ["listed-2", "listed-1", "listed-0"]
    for item in listed:
        alone = client.get(f"/api/v1/claims/{item['slug']}", headers=auth(tokens.alice)).json()
        assert item == alone
    by_slug = {item["slug"]: item for item in listed}
    assert by_slug["listed-0"]["tags"] == ["apps", "video"]
    assert by_slug["listed-0"]["my_forecast"]["rationale"] == "cheap"
    assert by_slug["listed-0"]["forecasters"] == 2
    assert by_slug["listed-2"]["my_forecast"] is None  # withdrawn
    assert by_slug["listed-1"]["my_forecast"] is None and by_slug["listed-1"]["forecasters"] == 0
    anonymous = client.get("/api/v1/claims").json()["items"]
    assert all(item["my_forecast"] is None for item in anonymous)
