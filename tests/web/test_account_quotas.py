"""What one account may hold and repeat: its submission rate over all its tokens, a cap on
live tokens, idempotency records that expire; and secrets kept out of caches (issue #18)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from forecasts.accounts.service import MAX_LIVE_TOKENS
from forecasts.submit import groupcommit
from tests.conftest import Tokens
from tests.factories import FakeClock, auth, make_claim
from web.app import create_app
from web.db import Database
from web.settings import Settings

SLUG = "gen-video-out-of-top-five"
URL = f"/api/v1/claims/{SLUG}/forecasts"


def _new_token(client: TestClient, token: str) -> str:
    response = client.post("/api/v1/me/tokens", json={"label": "more"}, headers=auth(token))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"  # shown once: keep no copy
    token_text: str = response.json()["token"]
    return token_text


@pytest.fixture
def limited(database_url: str, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, rate_limit=3)
    with TestClient(create_app(settings, clock=clock, migrate=False)) as client:
        yield client


def test_the_submission_rate_is_per_account_whatever_the_token(
    limited: TestClient, tokens: Tokens
) -> None:
    make_claim(limited, tokens.editor)
    spare = [_new_token(limited, tokens.alice) for _ in range(3)]
    answers = [
        limited.post(URL, json={"probability": 0.5}, headers=auth(token)).status_code
        for token in [tokens.alice, *spare]
    ]
    assert answers == [201, 201, 201, 429]
    assert limited.post(URL, json={"probability": 0.5}, headers=auth(tokens.bob)).status_code == 201


def test_an_account_holds_a_bounded_number_of_live_tokens(
    client: TestClient, tokens: Tokens
) -> None:
    for _ in range(MAX_LIVE_TOKENS - 1):  # alice has one already
        _new_token(client, tokens.alice)
    refused = client.post("/api/v1/me/tokens", json={}, headers=auth(tokens.alice))
    assert refused.status_code == 409 and "revoke one first" in refused.text
    first = client.get("/api/v1/me", headers=auth(tokens.alice)).json()["tokens"][0]["id"]
    assert client.delete(f"/api/v1/me/tokens/{first}", headers=auth(tokens.bob)).status_code == 404
    revoked = client.delete(f"/api/v1/me/tokens/{first}", headers=auth(tokens.alice))
    assert revoked.status_code == 204
    _new_token(client, tokens.bob)  # another account's count is its own
    assert client.post("/api/v1/me/tokens", json={}, headers=auth(tokens.bob)).status_code == 201


def test_an_idempotency_key_is_replayed_for_a_day_then_starts_afresh(
    client: TestClient, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(client, tokens.editor)
    keyed = {**auth(tokens.alice), "Idempotency-Key": "retry-1"}
    first = client.post(URL, json={"probability": 0.4}, headers=keyed)
    assert first.status_code == 201
    clock.advance(hours=23)
    again = client.post(URL, json={"probability": 0.4}, headers=keyed)
    assert again.status_code == 201 and again.json() == first.json()  # a replay
    clock.advance(hours=2)
    fresh = client.post(URL, json={"probability": 0.4}, headers=keyed)
    assert fresh.status_code == 201 and fresh.json()["id"] > first.json()["id"]
    assert client.post(URL, json={"probability": 0.4}, headers=keyed).json() == fresh.json()
    history = client.get(URL, headers=auth(tokens.alice)).json()["items"]
    assert len(history) == 2


def test_a_shorter_expiry_is_a_setting(database_url: str, clock: FakeClock, tokens: Tokens) -> None:
    settings = Settings(database_url=database_url, rate_limit=0, idempotency_hours=1)
    with TestClient(create_app(settings, clock=clock, migrate=False)) as client:
        make_claim(client, tokens.editor)
        keyed = {**auth(tokens.alice), "Idempotency-Key": "k"}
        first = client.post(URL, json={"probability": 0.4}, headers=keyed).json()
        clock.advance(minutes=61)
        assert client.post(URL, json={"probability": 0.4}, headers=keyed).json() != first


@pytest.mark.parametrize("secure", [False, True])
def test_hsts_when_secure_cookies_are_on(
    database_url: str, clock: FakeClock, tokens: Tokens, secure: bool
) -> None:
    settings = Settings(database_url=database_url, rate_limit=0, secure_cookies=secure)
    with TestClient(create_app(settings, clock=clock, migrate=False)) as client:
        make_claim(client, tokens.editor)
        answers = [
            client.get("/"),
            client.get("/api/v1/claims"),
            client.post(URL, json={"probability": 0.5}, headers=auth(tokens.alice)),
            client.post(URL, json={"probability": 0.6}, headers=auth(tokens.alice)),  # fast lane
        ]
    for answer in answers:
        assert answer.status_code < 300
        hsts = answer.headers.get("strict-transport-security")
        assert hsts == ("max-age=31536000" if secure else None), answer.url


def test_the_writer_deletes_expired_idempotency_records(
    client: TestClient,
    tokens: Tokens,
    clock: FakeClock,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(groupcommit, "PURGE_EVERY", 0.0)  # after every batch (the second one
    # below waits for the purge after the first)
    make_claim(client, tokens.editor)
    for key in ("old-1", "old-2"):
        keyed = {**auth(tokens.alice), "Idempotency-Key": key}
        assert client.post(URL, json={"probability": 0.4}, headers=keyed).status_code == 201
    clock.advance(hours=25)
    keyed = {**auth(tokens.bob), "Idempotency-Key": "new"}
    assert client.post(URL, json={"probability": 0.4}, headers=keyed).status_code == 201
    assert client.post(URL, json={"probability": 0.5}, headers=auth(tokens.bob)).status_code == 201
    with db.reading() as session:
        keys = session.connection().exec_driver_sql("SELECT key FROM idempotency_keys").all()
    assert [row[0] for row in keys] == ["new"]
