"""What signing in may cost and who it may lock out: rates, the hashing bound, the throttle,
sign-out, weak passwords, and pages with secrets kept out of caches (issue #18)."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from claims.errors import Invalid
from forecasts.accounts.service import create_account, get_account, set_password
from tests.factories import T0, FakeClock
from tests.web.pages.conftest import PASSWORD, csrf_of
from web.app import create_app
from web.db import Database
from web.ratelimits import SignInGate, SlowDown
from web.settings import Settings

AppMaker = Callable[..., FastAPI]


@pytest.fixture
def make_app(database_url: str, db: Database, clock: FakeClock) -> Iterator[AppMaker]:
    """Apps on one database with an account `maria` (password PASSWORD); settings as given."""
    with db.writing() as session:
        create_account(session, "maria", role="forecaster", now=T0, password=PASSWORD)
    clients: list[TestClient] = []

    def make(**overrides: Any) -> FastAPI:
        settings = Settings(database_url=database_url, rate_limit=0, secret_key="s", **overrides)
        client = TestClient(create_app(settings, clock=clock, migrate=False))
        client.__enter__()  # the lifespan: the group committer
        clients.append(client)
        return client.app  # type: ignore[return-value]

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _browser(app: FastAPI, address: str = "10.0.0.1") -> TestClient:
    return TestClient(app, client=(address, 40000), follow_redirects=False)


def _post(client: TestClient, path: str, **fields: str) -> httpx.Response:
    token = csrf_of(client.get(path if path in ("/signin", "/signup") else "/").text)
    return client.post(path, data={**fields, "csrf_token": token})


def _sign_in(client: TestClient, password: str = PASSWORD) -> httpx.Response:
    return _post(client, "/signin", handle="maria", password=password)


def _too_many(response: httpx.Response) -> bool:
    return response.status_code == 429 and 1 <= int(response.headers["Retry-After"]) <= 61


def test_sign_ins_and_sign_ups_are_limited_per_address_and_in_total(make_app: AppMaker) -> None:
    app = make_app(sign_in_rate=2, sign_in_total=3)
    first = _browser(app, "10.0.0.1")
    assert _sign_in(first).status_code == 303
    signup = _post(first, "/signup", handle="newbie", password="a long fine password")
    assert signup.status_code == 303  # a sign-up counts like a sign-in
    third = _sign_in(_browser(app, "10.0.0.1"))
    assert _too_many(third) and "Too many sign-ins" in third.text
    assert _sign_in(_browser(app, "10.0.0.2")).status_code == 303  # another address may
    assert _too_many(_sign_in(_browser(app, "10.0.0.3")))  # until the total is reached


def test_password_hashing_runs_a_bounded_number_at_once() -> None:
    gate = SignInGate(hashing=1, queue=0)
    inside, release = threading.Event(), threading.Event()

    def hash_slowly() -> None:
        with gate.hashing():
            inside.set()
            release.wait(10)

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(hash_slowly)
        assert inside.wait(10)
        with pytest.raises(SlowDown) as busy, gate.hashing():  # no room: refused, not queued
            pass
        assert busy.value.retry_after == 1
        release.set()
        running.result(10)
    with gate.hashing():  # free again
        pass


def test_concurrent_wrong_passwords_cannot_outrun_the_throttle(make_app: AppMaker) -> None:
    """20 attempts at once on one handle from one address: at most 10 are checked."""
    app = make_app(sign_in_rate=0, sign_in_total=0, password_hashing=4)
    browsers = [_browser(app) for _ in range(20)]
    tokens = [csrf_of(browser.get("/signin").text) for browser in browsers]
    start = threading.Barrier(20)

    def attempt(k: int) -> int:
        start.wait(10)
        form = {"handle": "maria", "password": "wrong password", "csrf_token": tokens[k]}
        return browsers[k].post("/signin", data=form).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(attempt, range(20)))
    checked = answers.count(401)
    assert checked <= 10 and checked + answers.count(429) == 20
    # how many of the 20 were checked depends on timing (refused ones are not counted):
    # topped up one at a time to the limit, this address then waits, right password or not
    for _ in range(10 - checked):
        assert _sign_in(_browser(app), "wrong password").status_code == 401
    assert _too_many(_sign_in(_browser(app)))
    # but the stranger's failures lock only their own address out, not maria
    assert _sign_in(_browser(app, "10.0.0.9")).status_code == 303


def test_signing_out_ends_the_session_on_the_server(make_app: AppMaker) -> None:
    app = make_app()
    browser = _browser(app)
    assert _sign_in(browser).status_code == 303
    copy = browser.cookies["fl_session"]
    csrf = csrf_of(browser.get("/account").text)
    assert _post(browser, "/signout").status_code == 303
    stolen = TestClient(app, cookies={"fl_session": copy}, follow_redirects=False)
    assert stolen.get("/account").headers["location"].startswith("/signin")
    minted = stolen.post("/account/tokens", data={"label": "x", "csrf_token": csrf})
    assert minted.status_code == 303 and minted.headers["location"].startswith("/signin")
    assert _sign_in(_browser(app)).status_code == 303  # signing in again works


def test_weak_passwords_are_refused(make_app: AppMaker, db: Database) -> None:
    app = make_app()
    browser = _browser(app)
    for handle, password, reason in (
        ("longhandle", "LongHandle", "must not be the handle"),
        ("someone", "qwertyuiop", "most common passwords"),
        ("someone", "password123", "most common passwords"),
    ):
        refused = _post(browser, "/signup", handle=handle, password=password)
        assert refused.status_code == 422 and reason in refused.text, refused.text
    with db.writing() as session, pytest.raises(Invalid):
        set_password(session, get_account(session, "maria"), "1234567890")
    assert _sign_in(_browser(app)).status_code == 303  # the old password stands


def test_the_page_that_shows_a_new_token_is_not_cached(make_app: AppMaker) -> None:
    browser = _browser(make_app())
    assert _sign_in(browser).status_code == 303
    shown = _post(browser, "/account/tokens", label="bot")
    assert shown.status_code == 200 and 'class="token"' in shown.text
    assert shown.headers["cache-control"] == "no-store"
