"""`/me/webhooks` (SPEC §9): registration, the one-time secret, limits, URL rules, ownership."""

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import auth
from web.settings import Settings

HOOKS = "/api/v1/me/webhooks"
URL = "http://127.0.0.1:9/ok/a"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, rate_limit=0, fetch_allow="127.0.0.1/32")


def register(client: TestClient, token: str, url: str = URL, events: Any = None) -> Any:
    body = {"url": url, "events": events or ["claim.published"]}
    return client.post(HOOKS, json=body, headers=auth(token))


def test_a_webhook_is_registered_with_a_secret_shown_once(
    client: TestClient, tokens: Tokens
) -> None:
    made = register(client, tokens.alice, events=["forecast.scored", "claim.published"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", body["secret"])
    assert body["events"] == ["claim.published", "forecast.scored"] and body["active"] is True
    assert body["failing_since"] is None and body["disabled_at"] is None
    assert made.headers["cache-control"] == "no-store"
    listed = client.get(HOOKS, headers=auth(tokens.alice)).json()
    assert listed["next_cursor"] is None and [w["id"] for w in listed["items"]] == [body["id"]]
    one = client.get(f"{HOOKS}/{body['id']}", headers=auth(tokens.alice)).json()
    assert "secret" not in one and "secret" not in listed["items"][0]
    assert one == {k: v for k, v in body.items() if k != "secret"}


def test_ten_webhooks_each_url_once(client: TestClient, tokens: Tokens) -> None:
    for n in range(10):
        assert register(client, tokens.alice, url=f"{URL}{n}").status_code == 201
    assert register(client, tokens.alice, url=f"{URL}x").status_code == 409
    assert register(client, tokens.bob, url=f"{URL}0").status_code == 201  # per account
    assert register(client, tokens.bob, url=f"{URL}0").status_code == 409


def test_another_accounts_webhook_is_a_404_even_for_admins(
    client: TestClient, tokens: Tokens
) -> None:
    hook = register(client, tokens.alice).json()["id"]
    for token in (tokens.bob, tokens.admin):
        assert client.get(f"{HOOKS}/{hook}", headers=auth(token)).status_code == 404
        patched = client.patch(f"{HOOKS}/{hook}", json={"active": False}, headers=auth(token))
        assert patched.status_code == 404
        assert client.get(f"{HOOKS}/{hook}/deliveries", headers=auth(token)).status_code == 404
        assert client.delete(f"{HOOKS}/{hook}", headers=auth(token)).status_code == 404
    assert client.get(f"{HOOKS}/{hook}", headers=auth(tokens.alice)).status_code == 200
    assert client.get(HOOKS).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["claim.eaten"]}, "events"),
        ({"url": URL}, "events"),
        ({"url": "ftp://127.0.0.1/x", "events": ["claim.closed"]}, "url"),
        ({"url": "https://u:p@127.0.0.1/x", "events": ["claim.closed"]}, "url"),
        ({"url": "http://93.184.216.34/x", "events": ["claim.closed"]}, "url"),  # http, public
        ({"url": "https://93.184.216.34:8443/x", "events": ["claim.closed"]}, "url"),  # port
        ({"url": "http://127.0.0.2:9/x", "events": ["claim.closed"]}, "url"),  # not allowed
        ({"url": "http://10.0.0.1/x", "events": ["claim.closed"]}, "url"),  # private
        ({"url": "http://127.0.0.1/" + "x" * 2000, "events": ["claim.closed"]}, "url"),
        ({"url": "not a url", "events": ["claim.closed"]}, "url"),
        # names the idna codec refuses (an empty label, one over 63 characters) were a 500
        ({"url": "https://a..example/x", "events": ["claim.closed"]}, "url"),
        ({"url": f"https://{'a' * 64}.example/x", "events": ["claim.closed"]}, "url"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, tokens: Tokens, body: dict[str, Any], field: str
) -> None:
    refused = client.post(HOOKS, json=body, headers=auth(tokens.alice))
    assert refused.status_code == 422, refused.text
    assert field in str(refused.json()["detail"])


def test_patch_changes_and_disables_and_delete_removes(client: TestClient, tokens: Tokens) -> None:
    hook = register(client, tokens.alice).json()["id"]
    path = f"{HOOKS}/{hook}"
    changed = client.patch(
        path, json={"url": f"{URL}2", "events": ["crowd.moved"]}, headers=auth(tokens.alice)
    ).json()
    assert changed["url"] == f"{URL}2" and changed["events"] == ["crowd.moved"]
    off = client.patch(path, json={"active": False}, headers=auth(tokens.alice)).json()
    assert off["active"] is False and off["disabled_at"] is not None
    on = client.patch(path, json={"active": True}, headers=auth(tokens.alice)).json()
    assert on["active"] is True and on["disabled_at"] is None and on["disabled_reason"] is None
    bad = client.patch(path, json={"url": "http://10.0.0.1/"}, headers=auth(tokens.alice))
    assert bad.status_code == 422
    assert client.delete(path, headers=auth(tokens.alice)).status_code == 204
    assert client.get(path, headers=auth(tokens.alice)).status_code == 404


def test_registrations_at_once_stay_within_ten_and_each_url_once(
    client: TestClient, tokens: Tokens
) -> None:
    """On PostgreSQL two registrations counted 9 at once and both made a tenth (or both
    inserted the same URL: a 500); the account's row is now locked while counting."""
    for n in range(9):
        assert register(client, tokens.alice, url=f"{URL}{n}").status_code == 201
    for attempt in range(5):  # a race: five chances to lose it
        urls = [f"{URL}r{attempt}-{n % 3}" for n in range(12)]  # three URLs, four times each
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda url: register(client, tokens.alice, url=url), urls))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * 11, [a.text for a in answers]
        held = client.get(HOOKS, headers=auth(tokens.alice)).json()["items"]
        assert len(held) == 10
        assert (
            client.delete(f"{HOOKS}/{held[-1]['id']}", headers=auth(tokens.alice)).status_code
            == 204
        )


def test_a_refused_host_says_nothing_of_what_it_resolves_to(
    client: TestClient, tokens: Tokens
) -> None:
    """Unresolvable, private, plain http or an odd port: one answer, so registering webhooks
    cannot map which internal names exist or where they point."""
    answers = set()
    for url in (
        "https://does-not-exist.invalid/x",  # RFC 2606: never resolves
        "https://10.0.0.1/x",  # private
        "https://127.0.0.2/x",  # loopback, outside the tests' allow list
        "http://93.184.216.34/x",  # plain http to a public address
        "https://93.184.216.34:8443/x",  # a port not allowed
    ):
        body = {"url": url, "events": ["claim.closed"]}
        refused = client.post(HOOKS, json=body, headers=auth(tokens.alice))
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["detail"]
        answers.add(problem["msg"])
        assert "10.0.0.1" not in problem["msg"] and "resolve " not in problem["msg"]
    assert len(answers) == 1, answers
