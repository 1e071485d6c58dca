"""Security headers, session cookie flags, and no secret in the logs."""

import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import FakeClock, auth, make_claim
from web.app import create_app
from web.security import CONTENT_SECURITY_POLICY, PAGE_CONTENT_SECURITY_POLICY
from web.settings import Settings

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
PAGE_POLICY = PAGE_CONTENT_SECURITY_POLICY
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _has_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in COMMON.items():
        assert headers.get(name) == value, (name, response)
    # the pages send a stricter policy of their own (default-src 'none'): either will do
    policy = headers.get("content-security-policy", "")
    assert policy in (CONTENT_SECURITY_POLICY, PAGE_POLICY), (policy, response)
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


def test_pages_and_api_carry_the_security_headers(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor)
    for path in (
        "/",
        "/claims/gen-video-out-of-top-five",
        "/leaderboard",
        "/signin",
        "/static/site.css",
        "/api/v1/claims",
        "/api/v1/ledger/head",
        "/openapi.json",
        "/health",
        "/no-such-page",
        "/api/v1/claims/no-such-claim",
    ):
        _has_headers(client.get(path))
    api = client.get("/api/v1/claims")
    assert api.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    _has_headers(client.get("/api/v1/me"))  # 401
    _has_headers(client.post("/api/v1/claims", json={}, headers=auth(tokens.editor)))  # 422
    forecast = client.post(
        "/api/v1/claims/gen-video-out-of-top-five/forecasts",
        json={"probability": 0.4},
        headers=auth(tokens.alice),
    )
    assert forecast.status_code == 201
    _has_headers(forecast)  # the submission fast lane too
    _has_headers(client.post("/api/v1/claims", content=b"x" * 2_000_000))  # 413


def test_the_interactive_docs_have_the_csp_and_no_inline_script(client: TestClient) -> None:
    """/docs starts Swagger UI from served files (web/apidocs), so it keeps the CSP;
    ReDoc is not served."""
    response = client.get("/docs")
    assert response.status_code == 200
    _has_headers(response)
    assert "<script>" not in response.text and "cdn" not in response.text
    for script in re.findall(r'<script src="([^"]+)"', response.text):
        assert client.get(script).status_code == 200, script
    assert client.get("/redoc").status_code == 404


def test_pages_use_no_inline_script_or_style(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor)
    for path in ("/", "/claims/gen-video-out-of-top-five", "/leaderboard", "/signin", "/signup"):
        html = client.get(path).text
        assert "<script" not in html and "<style" not in html and "style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path


def _signup(client: TestClient, handle: str, password: str) -> object:
    match = _CSRF.search(client.get("/signup").text)
    assert match is not None
    return client.post(
        "/signup",
        data={"handle": handle, "password": password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )


def _session_cookie(response: object) -> str:
    cookies = [
        value
        for name, value in response.headers.multi_items()  # type: ignore[attr-defined]
        if name == "set-cookie" and value.startswith("fl_session=")
    ]
    assert cookies, "no session cookie"
    return cookies[-1].lower()


def test_session_cookie_flags(database_url: str, clock: FakeClock) -> None:
    settings = Settings(database_url=database_url, rate_limit=0, secret_key="k")
    with TestClient(create_app(settings, clock=clock, migrate=False)) as plain:
        cookie = _session_cookie(_signup(plain, "hana", "a long enough password"))
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        # the API sets no cookie at all
        assert "set-cookie" not in plain.get("/api/v1/claims").headers
    app = create_app(settings, clock=clock, migrate=False)
    with TestClient(app, base_url="https://testserver") as over_https:
        cookie = _session_cookie(_signup(over_https, "ines", "a long enough password"))
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    forced = Settings(database_url=database_url, rate_limit=0, secret_key="k", secure_cookies=True)
    with TestClient(create_app(forced, clock=clock, migrate=False)) as configured:
        cookie = _session_cookie(_signup(configured, "jo", "a long enough password"))
        assert "secure" in cookie


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "httpx", "sqlalchemy.engine"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def test_no_token_or_password_reaches_the_logs(
    client: TestClient, tokens: Tokens, debug_logs: pytest.LogCaptureFixture
) -> None:
    password = "hunter2-but-longer-xyzzy"
    make_claim(client, tokens.editor)
    url = "/api/v1/claims/gen-video-out-of-top-five/forecasts"
    client.get("/api/v1/me", headers=auth(tokens.alice))
    client.post(url, json={"probability": 0.3}, headers=auth(tokens.alice))
    client.post(url, json={"probability": 0.3}, headers=auth(tokens.alice))  # the fast lane
    client.post(url, json={"probability": 2}, headers=auth(tokens.alice))  # a 422
    client.get("/api/v1/me", headers=auth(tokens.alice + "x"))  # a bad token
    new = client.post("/api/v1/me/tokens", json={"label": "bot"}, headers=auth(tokens.bob))
    assert _signup(client, "kim", password).status_code == 303  # type: ignore[attr-defined]
    assert _signup(client, "kim", password).status_code == 422  # type: ignore[attr-defined]
    match = _CSRF.search(client.get("/signin").text)
    assert match is not None
    signin = {"handle": "kim", "password": password + "!", "csrf_token": match.group(1)}
    assert client.post("/signin", data=signin).status_code == 401
    assert debug_logs.records, "logging was not captured"
    text = debug_logs.text + "".join(repr(r.args) for r in debug_logs.records)
    for secret in (tokens.alice, tokens.bob, tokens.editor, new.json()["token"], password):
        assert secret not in text
