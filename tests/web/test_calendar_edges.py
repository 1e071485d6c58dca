"""Times at the edges of the calendar: a moment UTC cannot hold is a 422 naming the field."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, auth, claim_body, make_claim

SLUG = "gen-video-out-of-top-five"
# both exist as written, neither in UTC: a year 0 and a year 10000
BEFORE_YEAR_ONE = "0001-01-01T00:00:00+01:00"
AFTER_YEAR_9999 = "9999-12-31T23:59:59-14:00"
EDGES = pytest.mark.parametrize("moment", [BEFORE_YEAR_ONE, AFTER_YEAR_9999])


def _names(response_text: str, field: str) -> bool:
    return field in response_text and "calendar" in response_text


@EDGES
@pytest.mark.parametrize("field", ["opens_at", "closes_at", "resolves_at"])
def test_a_new_claim_at_the_edge_is_422(
    client: TestClient, tokens: Tokens, moment: str, field: str
) -> None:
    body = claim_body() | {field: moment}
    response = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
    assert response.status_code == 422 and _names(response.text, field), response.text


@EDGES
def test_a_source_published_at_the_edge_is_422(
    client: TestClient, tokens: Tokens, moment: str
) -> None:
    body = claim_body(source={"quote": "It will.", "published_at": moment})
    response = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
    assert response.status_code == 422 and _names(response.text, "published_at"), response.text


@EDGES
@pytest.mark.parametrize("field", ["opens_at", "closes_at", "resolves_at"])
def test_a_change_to_the_edge_is_422(
    client: TestClient, tokens: Tokens, moment: str, field: str
) -> None:
    make_claim(client, tokens.editor)
    response = client.patch(
        f"/api/v1/claims/{SLUG}", json={field: moment}, headers=auth(tokens.editor)
    )
    assert response.status_code == 422 and _names(response.text, field), response.text


@EDGES
def test_a_resolution_closed_at_the_edge_is_422(
    client: TestClient, tokens: Tokens, moment: str
) -> None:
    make_claim(client, tokens.editor)
    response = client.post(
        f"/api/v1/claims/{SLUG}/resolution",
        json={"outcome": "yes", "closed_at": moment},
        headers=auth(tokens.editor),
    )
    assert response.status_code == 422 and _names(response.text, "closed_at"), response.text


@EDGES
def test_an_import_created_at_the_edge_is_422(
    client: TestClient, tokens: Tokens, moment: str
) -> None:
    make_claim(
        client, tokens.editor, opens_at=T0 - timedelta(days=30), closes_at=T0 - timedelta(days=1)
    )
    rows = [{"claim": SLUG, "handle": "alice", "probability": 0.3, "created_at": moment}]
    response = client.post("/api/v1/import/forecasts", json=rows, headers=auth(tokens.admin))
    assert response.status_code == 422 and _names(response.text, "created_at"), response.text


def test_the_calendar_edges_in_utc_itself_are_accepted(client: TestClient, tokens: Tokens) -> None:
    body = claim_body(opens_at=None) | {
        "opens_at": "0001-01-01T00:00:00Z",
        "closes_at": "9999-12-31T23:59:59Z",
    }
    response = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
    assert response.status_code == 201, response.text
    read = client.get(f"/api/v1/claims/{SLUG}").json()
    assert read["opens_at"].startswith("0001-01-01T00:00:00") and read["status"] == "open"
    assert read["closes_at"].startswith("9999-12-31T23:59:59")
