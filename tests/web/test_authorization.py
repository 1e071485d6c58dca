"""Who may call what: every route of the app against every kind of caller.

The table below names each route's minimum role. The routes come from `app.routes`, so a new
route that is not in the table fails `test_every_route_is_in_the_table`: nobody can add one
without saying who may call it.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from forecasts.accounts.service import create_account, issue_token, revoke_token
from tests.conftest import fresh_database
from tests.factories import FakeClock, auth, make_claim
from web.app import create_app
from web.db import Database
from web.deps import optional_principal
from web.openapi import reads
from web.settings import Settings

PUBLIC, FORECASTER, EDITOR, ADMIN = "public", "forecaster", "editor", "admin"
SIGNED_IN = FORECASTER  # pages: any signed-in account
IDENTITIES = ("anonymous", "bad token", "revoked token", "forecaster", "editor", "admin")
RANK = {PUBLIC: 0, FORECASTER: 1, EDITOR: 2, ADMIN: 3}

# (method, path) -> the least role that may call it
API: dict[tuple[str, str], str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/api/v1/claims"): PUBLIC,
    ("POST", "/api/v1/claims"): EDITOR,
    ("GET", "/api/v1/claims/{slug}"): PUBLIC,
    ("PATCH", "/api/v1/claims/{slug}"): EDITOR,
    ("POST", "/api/v1/claims/{slug}/publish"): EDITOR,
    ("POST", "/api/v1/claims/{slug}/forecasts"): FORECASTER,
    ("GET", "/api/v1/claims/{slug}/forecasts"): PUBLIC,
    ("GET", "/api/v1/claims/{slug}/history"): PUBLIC,
    ("POST", "/api/v1/claims/{slug}/withdraw"): FORECASTER,
    ("POST", "/api/v1/claims/{slug}/check"): EDITOR,
    ("POST", "/api/v1/claims/{slug}/dispute"): FORECASTER,
    ("POST", "/api/v1/claims/{slug}/reopen"): EDITOR,
    ("GET", "/api/v1/claims/{slug}/evidence"): PUBLIC,
    ("GET", "/api/v1/claims/{slug}/evidence/{snapshot_id}/body"): PUBLIC,
    ("POST", "/api/v1/claims/{slug}/resolution"): EDITOR,
    ("GET", "/api/v1/claims/{slug}/scores"): PUBLIC,
    ("GET", "/api/v1/queue"): EDITOR,
    ("GET", "/api/v1/ledger"): PUBLIC,
    ("GET", "/api/v1/ledger/head"): PUBLIC,
    ("POST", "/api/v1/import/forecasts"): ADMIN,
    ("PUT", "/api/v1/accounts/{handle}/role"): ADMIN,
    ("GET", "/api/v1/me"): FORECASTER,
    ("POST", "/api/v1/me/tokens"): FORECASTER,
    ("DELETE", "/api/v1/me/tokens/{token_id}"): FORECASTER,
    ("PUT", "/api/v1/me/email"): FORECASTER,
    ("GET", "/api/v1/me/email"): FORECASTER,
    ("PATCH", "/api/v1/me/email"): FORECASTER,
    ("DELETE", "/api/v1/me/email"): FORECASTER,
    ("POST", "/api/v1/me/webhooks"): FORECASTER,
    ("GET", "/api/v1/me/webhooks"): FORECASTER,
    ("GET", "/api/v1/me/webhooks/{webhook_id}"): FORECASTER,
    ("PATCH", "/api/v1/me/webhooks/{webhook_id}"): FORECASTER,
    ("DELETE", "/api/v1/me/webhooks/{webhook_id}"): FORECASTER,
    ("GET", "/api/v1/me/webhooks/{webhook_id}/deliveries"): FORECASTER,
    (
        "POST",
        "/api/v1/me/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    ): FORECASTER,
    ("GET", "/api/v1/claimants"): PUBLIC,
    ("POST", "/api/v1/claimants"): EDITOR,
    ("GET", "/api/v1/claimants/{slug}"): PUBLIC,
    ("PATCH", "/api/v1/claimants/{slug}"): EDITOR,
    ("GET", "/api/v1/leaderboard"): PUBLIC,
    ("GET", "/api/v1/forecasters/{handle}"): PUBLIC,
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/ui-init.js"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # to peers in FORECAST_LEDGER_METRICS_ALLOW, else a 404
}
PAGES: dict[tuple[str, str], str] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/claims/{slug}"): PUBLIC,
    ("GET", "/leaderboard"): PUBLIC,
    ("GET", "/forecasters/{handle}"): PUBLIC,
    ("GET", "/ledger"): PUBLIC,
    ("GET", "/claimants"): PUBLIC,
    ("GET", "/claimants/{slug}"): PUBLIC,
    ("GET", "/desk/claimants"): EDITOR,
    ("POST", "/desk/claimants"): EDITOR,
    ("GET", "/desk/claimants/{slug}"): EDITOR,
    ("POST", "/desk/claimants/{slug}"): EDITOR,
    ("POST", "/desk/claims/{slug}/link"): EDITOR,
    ("GET", "/signup"): PUBLIC,
    ("POST", "/signup"): PUBLIC,
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): PUBLIC,
    ("POST", "/signout"): PUBLIC,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/tokens"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("POST", "/account/sessions/end"): SIGNED_IN,
    ("POST", "/account/tokens/{token_id}/revoke"): SIGNED_IN,
    ("POST", "/claims/{slug}/forecast"): SIGNED_IN,
    ("POST", "/claims/{slug}/withdraw"): SIGNED_IN,
    ("POST", "/claims/{slug}/dispute"): SIGNED_IN,
    ("GET", "/feeds/claims.atom"): PUBLIC,
    ("GET", "/feeds/resolutions.atom"): PUBLIC,
    ("GET", "/claims/{slug}/feed.atom"): PUBLIC,
    ("GET", "/claimants/{slug}/feed.atom"): PUBLIC,
    ("POST", "/account/email"): SIGNED_IN,
    ("POST", "/account/email/settings"): SIGNED_IN,
    ("POST", "/account/email/delete"): SIGNED_IN,
    ("GET", "/confirm/{token}"): PUBLIC,
    ("POST", "/confirm/{token}"): PUBLIC,
    ("GET", "/unsubscribe/{token}"): PUBLIC,
    ("POST", "/unsubscribe/{token}"): PUBLIC,  # RFC 8058 one-click: the link is the credential
    ("GET", "/reset"): PUBLIC,
    ("POST", "/reset"): PUBLIC,
    ("GET", "/reset/{token}"): PUBLIC,
    ("POST", "/reset/{token}"): PUBLIC,
    ("GET", "/desk"): EDITOR,
    ("GET", "/desk/claims/new"): EDITOR,
    ("POST", "/desk/claims/new"): EDITOR,
    ("GET", "/desk/claims/{slug}"): EDITOR,
    ("POST", "/desk/claims/{slug}"): EDITOR,
    ("POST", "/desk/claims/{slug}/resolve"): EDITOR,
    ("POST", "/desk/claims/{slug}/reopen"): EDITOR,
    ("GET", "/desk/accounts"): ADMIN,
    ("POST", "/desk/accounts/{handle}/role"): ADMIN,
}
PASSWORD = "a password for the matrix"
SLUG = "gen-video-out-of-top-five"
PATH_VALUES = {
    "slug": SLUG,
    "handle": "fay",
    "token_id": "999999",
    "snapshot_id": "999999",
    "webhook_id": "999999",
    "delivery_id": "00000000-0000-0000-0000-000000000000",
    "token": "x" * 43,
}
# forms whose empty version would be refused for reasons other than who is asking
FORMS = {"/signin": {"handle": "fay", "password": PASSWORD}}
# routes that can end an account's other sessions: the identity signs in again after them
SESSION_ENDING = {"/account/sessions/end", "/account/password", "/signout"}
# routes for forecasters on the claim only: the identity forecasts on it first
ON_THE_CLAIM = {"/api/v1/claims/{slug}/dispute", "/claims/{slug}/dispute"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def app_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """Every (method, path) the app answers, except the static files and HEAD."""
    found: dict[tuple[str, str], Any] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) or context.path is None:
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found[(method, context.path)] = route
    return found


def _reads_caller(route: Any) -> bool:
    """Whether the route looks at a bearer token when one is sent (so a bad one is a 401)."""
    return isinstance(route, APIRoute) and reads(route, optional_principal)


@dataclass
class Identity:
    headers: dict[str, str]
    cookie: str  # the signed session cookie, put back before each call
    csrf: str
    role: str | None
    handle: str | None = None


@dataclass
class World:
    client: TestClient
    routes: dict[tuple[str, str], Any]
    identities: dict[str, Identity]


def _session(client: TestClient, handle: str | None) -> tuple[str, str]:
    client.cookies.clear()
    csrf = _csrf(client)
    if handle is not None:
        form = {"handle": handle, "password": PASSWORD, "csrf_token": csrf}
        assert client.post("/signin", data=form, follow_redirects=False).status_code == 303
        csrf = _csrf(client)
    return client.cookies["fl_session"], csrf


def _csrf(client: TestClient) -> str:
    match = _CSRF.search(client.get("/signin").text)
    assert match is not None
    return match.group(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[World]:
    """One app for the whole matrix: its calls change nothing another call depends on."""
    directory: Path = tmp_path_factory.mktemp("matrix")
    with fresh_database(directory, migrated_template) as url:
        db = Database(url)
        clock = FakeClock()
        tokens: dict[str, str] = {}
        with db.writing() as session:
            for handle, role in (("fay", FORECASTER), ("ed", EDITOR), ("ada", ADMIN)):
                account = create_account(
                    session, handle, role=role, now=clock.now, password=PASSWORD
                )
                tokens[role] = issue_token(session, account, now=clock.now)
            gone = create_account(session, "gone", role=ADMIN, now=clock.now)
            revoked = issue_token(session, gone, now=clock.now)
            assert gone.id is not None
            revoke_token(session, 1 + len(tokens), account_id=gone.id, now=clock.now)
        settings = Settings(
            database_url=url, rate_limit=0, sign_in_rate=0, sign_in_total=0, secret_key="matrix"
        )
        app = create_app(settings, clock=clock, migrate=False)
        with TestClient(app) as client:
            make_claim(client, tokens[EDITOR])
            anonymous = _session(client, None)
            identities = {
                "anonymous": Identity({}, *anonymous, None),
                "bad token": Identity(auth("fl_" + "x" * 43), *anonymous, None),
                "revoked token": Identity(auth(revoked), *anonymous, None),
            }
            for role, handle in ((FORECASTER, "fay"), (EDITOR, "ed"), (ADMIN, "ada")):
                identities[role] = Identity(
                    auth(tokens[role]), *_session(client, handle), role, handle
                )
            yield World(client, app_routes(app), identities)
        db.dispose()


def test_every_route_is_in_the_table(world: World) -> None:
    table = {**API, **PAGES}
    missing = sorted(set(world.routes) - set(table))
    assert not missing, f"routes without a minimum role in the table: {missing}"
    stale = sorted(set(table) - set(world.routes))
    assert not stale, f"the table names routes the app no longer has: {stale}"


def _call(world: World, method: str, path: str, who: Identity, *, page: bool) -> Any:
    client = world.client
    client.cookies.clear()
    if path in ON_THE_CLAIM and who.role is not None:
        url = f"/api/v1/claims/{SLUG}/forecasts"
        answer = client.post(url, json={"probability": 0.5}, headers=who.headers)
        assert answer.status_code == 201, answer.text
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
    if page:
        client.cookies.set("fl_session", who.cookie)
        data = {**FORMS.get(path, {}), "csrf_token": who.csrf} if method == "POST" else None
        return client.request(method, url, headers=who.headers, data=data, follow_redirects=False)
    body = {} if method in ("POST", "PATCH") else None
    return client.request(method, url, headers=who.headers, json=body, follow_redirects=False)


@pytest.mark.parametrize(("method", "path"), sorted(API))
def test_api_route(world: World, method: str, path: str) -> None:
    least = API[(method, path)]
    for name in IDENTITIES:
        who = world.identities[name]
        status = _call(world, method, path, who, page=False).status_code
        cell = f"{method} {path} as {name}: {status}"
        assert status < 500, cell
        if who.role is None and (least != PUBLIC or name == "anonymous"):
            expected = 401 if least != PUBLIC else None
        elif who.role is None:  # a bad or revoked token on a public route
            expected = 401 if _reads_caller(world.routes[(method, path)]) else None
        elif RANK[who.role] < RANK[least]:
            expected = 403
        else:
            expected = None
        if expected is None:
            assert status not in (401, 403), cell
        else:
            assert status == expected, cell


@pytest.mark.parametrize(("method", "path"), sorted(PAGES))
def test_page_route(world: World, method: str, path: str) -> None:
    """Pages go by the session cookie: a bearer token, good or bad, changes nothing there."""
    least = PAGES[(method, path)]
    for name in IDENTITIES:
        who = world.identities[name]
        response = _call(world, method, path, who, page=True)
        status = response.status_code
        if path in SESSION_ENDING and who.handle is not None:  # its other sessions ended
            cookie, csrf = _session(world.client, who.handle)
            world.identities[name] = replace(who, cookie=cookie, csrf=csrf)
        cell = f"{method} {path} as {name}: {status}"
        assert status < 500, cell
        to_signin = status == 303 and response.headers["location"].startswith("/signin")
        if least == PUBLIC or (who.role is not None and RANK[who.role] >= RANK[least]):
            assert status not in (401, 403) and not to_signin, cell
        elif who.role is None:
            assert to_signin, cell
        else:
            assert status == 403, cell
