"""Submitting and withdrawing forecasts through the HTTP API."""

import math
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasts.accounts.service import hash_token
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from web.db import Database

SLUG = "gen-video-out-of-top-five"
URL = f"/api/v1/claims/{SLUG}/forecasts"


@pytest.fixture
def claim(client: TestClient, tokens: Tokens) -> dict[str, object]:
    return make_claim(client, tokens.editor)


def test_submit_returns_the_stamped_forecast(
    client: TestClient, tokens: Tokens, claim: object, clock: FakeClock
) -> None:
    response = client.post(
        URL, json={"probability": 0.7, "rationale": "charts"}, headers=auth(tokens.alice)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "claim",
        "handle",
        "probability",
        "rationale",
        "created_at",
        "ledger_seq",
    }
    assert body["claim"] == SLUG and body["handle"] == "alice" and body["probability"] == 0.7
    assert (
        body["created_at"].endswith("Z") and body["created_at"] <= clock.now.isoformat()[:26] + "Z"
    )
    mine = client.get(f"/api/v1/claims/{SLUG}", headers=auth(tokens.alice)).json()
    assert mine["my_forecast"]["id"] == body["id"]
    assert mine["crowd_probability"] == 0.7 and mine["market_probability"] == 0.7
    assert mine["forecasters"] == 1


def test_odds_are_stored_as_the_probability_they_mean(
    client: TestClient, tokens: Tokens, claim: object
) -> None:
    response = client.post(URL, json={"odds": "3:1"}, headers=auth(tokens.alice))
    assert response.status_code == 201
    assert response.json()["probability"] == 0.75
    response = client.post(URL, json={"odds": "1:4"}, headers=auth(tokens.alice))
    assert math.isclose(response.json()["probability"], 0.2)


BAD_BODIES = [
    ({"probability": 0}, "probability"),
    ({"probability": 1}, "probability"),
    ({"probability": 0.0009}, "probability"),
    ({"probability": 0.9991}, "probability"),
    ({"probability": -0.5}, "probability"),
    ({"probability": 1.5}, "probability"),
    ({"probability": "0.5"}, "probability"),
    ({"probability": True}, "probability"),
    ({"probability": False}, "probability"),
    ({"probability": [0.5]}, "probability"),
    ({"probability": {"value": 0.5}}, "probability"),
    ({}, "odds"),
    ({"probability": None}, "odds"),
    ({"probability": 0.5, "odds": "1:1"}, "odds"),
    ({"odds": "3-1"}, "odds"),
    ({"odds": "0:0"}, "odds"),
    ({"odds": "1000:1"}, "odds"),
    ({"odds": 3}, "odds"),
    ({"probability": 0.5, "rationale": "nul\u0000byte"}, "rationale"),
    ({"probability": 0.5, "rationale": "x" * 10_001}, "rationale"),
    ({"probability": 0.5, "extra": 1}, "extra"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_malformed_bodies_are_422_naming_the_field(
    client: TestClient, tokens: Tokens, claim: object, body: object, field: str
) -> None:
    response = client.post(URL, json=body, headers=auth(tokens.alice))
    assert response.status_code == 422, response.text
    assert field in response.text


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_422(
    client: TestClient, tokens: Tokens, claim: object, literal: str
) -> None:
    response = client.post(
        URL,
        content=f'{{"probability": {literal}}}',
        headers={**auth(tokens.alice), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "probability" in response.text


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b'{"probability": 0.5',
        b"\xff\xfe",
        b'{"probability": 0.5, "rationale": "\\ud800"}',
    ],
)
def test_broken_json_is_422(client: TestClient, tokens: Tokens, claim: object, raw: bytes) -> None:
    response = client.post(
        URL, content=raw, headers={**auth(tokens.alice), "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text


def test_nothing_is_stored_by_a_rejected_request(
    client: TestClient, tokens: Tokens, claim: object
) -> None:
    head = client.get("/api/v1/ledger/head").json()
    client.post(URL, json={"probability": 2}, headers=auth(tokens.alice))
    assert client.get("/api/v1/ledger/head").json() == head


def test_auth_errors(client: TestClient, tokens: Tokens, claim: object) -> None:
    assert client.post(URL, json={"probability": 0.5}).status_code == 401
    bad = client.post(URL, json={"probability": 0.5}, headers=auth("fl_nope"))
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == "Bearer"
    forbidden = client.post("/api/v1/claims", json={"slug": "x"}, headers=auth(tokens.alice))
    assert forbidden.status_code == 403


def test_unknown_claim_is_404(client: TestClient, tokens: Tokens) -> None:
    response = client.post(
        "/api/v1/claims/no-such-claim/forecasts",
        json={"probability": 0.5},
        headers=auth(tokens.alice),
    )
    assert response.status_code == 404


def test_outside_the_window_is_409(client: TestClient, tokens: Tokens, clock: FakeClock) -> None:
    make_claim(
        client, tokens.editor, opens_at=T0 + timedelta(days=1), closes_at=T0 + timedelta(days=2)
    )
    early = client.post(URL, json={"probability": 0.5}, headers=auth(tokens.alice))
    assert early.status_code == 409
    clock.set(T0 + timedelta(days=1, hours=1))
    assert (
        client.post(URL, json={"probability": 0.5}, headers=auth(tokens.alice)).status_code == 201
    )
    clock.set(T0 + timedelta(days=2))
    late = client.post(URL, json={"probability": 0.5}, headers=auth(tokens.alice))
    assert late.status_code == 409
    assert "not open" in late.json()["detail"]


def test_withdraw(client: TestClient, tokens: Tokens, claim: object) -> None:
    withdraw = f"/api/v1/claims/{SLUG}/withdraw"
    assert client.post(withdraw, headers=auth(tokens.alice)).status_code == 409
    client.post(URL, json={"probability": 0.6}, headers=auth(tokens.alice))
    client.post(URL, json={"probability": 0.2}, headers=auth(tokens.bob))
    response = client.post(withdraw, headers=auth(tokens.alice))
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "claim", "handle", "withdrawn_at", "ledger_seq"}
    state = client.get(f"/api/v1/claims/{SLUG}", headers=auth(tokens.alice)).json()
    assert state["my_forecast"] is None
    assert state["forecasters"] == 1 and state["crowd_probability"] == 0.2
    assert state["market_probability"] == 0.2
    assert client.post(withdraw, headers=auth(tokens.alice)).status_code == 409


def test_idempotent_replay_returns_the_original(
    client: TestClient, tokens: Tokens, claim: object
) -> None:
    headers = {**auth(tokens.alice), "Idempotency-Key": "abc-123"}
    first = client.post(URL, json={"probability": 0.4}, headers=headers)
    again = client.post(URL, json={"probability": 0.4}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listing = client.get(URL, headers=auth(tokens.alice)).json()
    assert len(listing["items"]) == 1
    different = client.post(URL, json={"probability": 0.5}, headers=headers)
    assert different.status_code == 409
    other_account = client.post(
        URL, json={"probability": 0.5}, headers={**auth(tokens.bob), "Idempotency-Key": "abc-123"}
    )
    assert other_account.status_code == 201


def test_hidden_until_close(client: TestClient, tokens: Tokens, clock: FakeClock) -> None:
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=1))
    client.post(URL, json={"probability": 0.9, "rationale": "secret"}, headers=auth(tokens.alice))
    client.post(URL, json={"probability": 0.1}, headers=auth(tokens.bob))
    for token in (tokens.bob, tokens.admin, tokens.editor):
        items = client.get(URL, headers=auth(token)).json()["items"]
        assert all(item["handle"] != "alice" for item in items)
        assert "secret" not in client.get(f"/api/v1/claims/{SLUG}", headers=auth(token)).text
    assert client.get(URL).json()["items"] == []
    ledger = client.get("/api/v1/ledger").text
    assert "alice" not in ledger and "secret" not in ledger
    clock.set(T0 + timedelta(days=1))
    items = client.get(URL).json()["items"]
    assert {item["handle"] for item in items} == {"alice", "bob"}


def test_tokens_are_revocable(client: TestClient, tokens: Tokens, claim: object) -> None:
    made = client.post("/api/v1/me/tokens", json={"label": "bot"}, headers=auth(tokens.alice))
    assert made.status_code == 201
    bot = made.json()["token"]
    assert client.post(URL, json={"probability": 0.5}, headers=auth(bot)).status_code == 201
    listed = client.get("/api/v1/me", headers=auth(bot)).json()["tokens"]
    bot_id = next(t["id"] for t in listed if t["label"] == "bot")
    assert (
        client.delete(f"/api/v1/me/tokens/{bot_id}", headers=auth(tokens.alice)).status_code == 204
    )
    for _ in range(2):  # the fast lane's answer (it still knew the token), then FastAPI's
        refused = client.post(URL, json={"probability": 0.5}, headers=auth(bot))
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/me", headers=auth(bot)).status_code == 401
    assert client.delete(f"/api/v1/me/tokens/{bot_id}", headers=auth(tokens.bob)).status_code == 404


def test_both_lanes_answer_alike(client: TestClient, tokens: Tokens, claim: object) -> None:
    """The first request of a token goes through FastAPI (and caches the token); later ones
    take the fast lane in web/fastpath.py. Both must give the same shapes and errors."""
    first = client.post(URL, json={"probability": 0.3}, headers=auth(tokens.bob))
    second = client.post(URL, json={"probability": 0.4}, headers=auth(tokens.bob))
    assert first.status_code == second.status_code == 201
    assert set(first.json()) == set(second.json())
    assert second.json()["ledger_seq"] == first.json()["ledger_seq"] + 1
    for name in ("content-type", "content-security-policy", "x-frame-options", "referrer-policy"):
        assert first.headers[name] == second.headers[name], name
    assert b", " not in second.content and b": " not in second.content  # compact, like FastAPI
    keyed = {**auth(tokens.bob), "Idempotency-Key": "lanes-1"}
    original = client.post(URL, json={"probability": 0.45}, headers=keyed)
    replayed = client.post(URL, json={"probability": 0.45}, headers=keyed)
    assert original.status_code == replayed.status_code == 201
    assert replayed.content == original.content  # a replay sends the very same bytes
    bad = client.post(URL, json={"probability": 2}, headers=auth(tokens.bob))
    assert bad.status_code == 422 and "probability" in bad.text
    huge = client.post(
        URL, json={"probability": 0.5, "rationale": "x" * 100_000}, headers=auth(tokens.bob)
    )
    assert huge.status_code in (413, 422)
    text = client.post(URL, content=b'{"probability": 0.5}', headers=auth(tokens.bob))
    assert text.status_code in (415, 422)  # no JSON content type: FastAPI judges it


def test_a_token_given_to_another_account_is_not_trusted(
    client: TestClient, tokens: Tokens, claim: object, db: Database
) -> None:
    """The fast lane trusts its token map for who submits; the writer re-checks, in the storing
    transaction, that the token is live and belongs to that account."""
    assert client.post(URL, json={"probability": 0.5}, headers=auth(tokens.bob)).status_code == 201
    digest = hash_token(tokens.bob)
    with db.write_engine.begin() as conn:  # the token row now names alice's account
        conn.execute(
            text(
                "UPDATE api_tokens SET account_id = "
                "(SELECT id FROM accounts WHERE handle = 'alice') WHERE token_hash = :h"
            ),
            {"h": digest},
        )
    refused = client.post(URL, json={"probability": 0.6}, headers=auth(tokens.bob))
    assert refused.status_code == 401
    mine = client.get(URL, headers=auth(tokens.alice)).json()["items"]
    assert all(item["probability"] != 0.6 for item in mine)


def test_the_fast_lane_fails_closed(
    client: TestClient, tokens: Tokens, claim: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected failure behind the fast lane (the database gone, say) is a plain 500 with
    the security headers, as the full stack would answer, and nothing is acknowledged."""
    assert client.post(URL, json={"probability": 0.5}, headers=auth(tokens.bob)).status_code == 201
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    async def broken(request: object) -> object:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(ctx.committer, "outcome", broken)
    failed = client.post(URL, json={"probability": 0.6}, headers=auth(tokens.bob))
    assert failed.status_code == 500 and failed.text == "Internal Server Error"
    assert failed.headers["x-content-type-options"] == "nosniff"
    monkeypatch.undo()
    mine = client.get(URL, headers=auth(tokens.bob)).json()["items"]
    assert [item["probability"] for item in mine] == [0.5]


def test_the_probability_history_is_public_and_paged(
    client: TestClient, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(client, tokens.editor, slug="h", closes_at=T0 + timedelta(days=9))
    url = "/api/v1/claims/h"
    for token, p in ((tokens.alice, 0.3), (tokens.bob, 0.7)):
        clock.advance(minutes=1)
        sent = client.post(f"{url}/forecasts", json={"probability": p}, headers=auth(token))
        assert sent.status_code == 201
    clock.advance(minutes=1)
    assert client.post(f"{url}/withdraw", headers=auth(tokens.alice)).status_code == 201
    whole = client.get(f"{url}/history").json()
    assert [(p["crowd"], p["market"]) for p in whole["items"]] == [
        (0.3, 0.3),
        (pytest.approx(0.7), 0.7),  # the newer forecast weighs more: the median lands on it
        (0.7, 0.7),  # a withdrawal leaves the market where it was
    ]
    assert [p["at"] for p in whole["items"]] == sorted(p["at"] for p in whole["items"])
    assert whole["next_cursor"] is None and "handle" not in str(whole)
    first = client.get(f"{url}/history", params={"limit": 2}).json()
    rest = client.get(f"{url}/history", params={"limit": 2, "cursor": first["next_cursor"]})
    assert first["items"] + rest.json()["items"] == whole["items"]
    assert rest.json()["next_cursor"] is None
    assert client.get(f"{url}/history", params={"cursor": "nope"}).status_code == 422
    assert client.get("/api/v1/claims/nope/history").status_code == 404
    make_claim(client, tokens.editor, slug="d", status="draft")
    assert client.get("/api/v1/claims/d/history").status_code == 404
    drafted = client.get("/api/v1/claims/d/history", headers=auth(tokens.editor))
    assert drafted.json() == {"items": [], "next_cursor": None}
