"""The forms behind the pages: CSRF, accounts and tokens, forecasts, the editors' desk."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from forecasts.accounts.service import create_account
from tests.factories import T0, FakeClock
from tests.web.pages.conftest import (
    PASSWORD,
    claim_form_data,
    csrf_of,
    post_form,
    sign_in,
)
from web.app import create_app
from web.cli import app
from web.db import Database
from web.settings import Settings, get_settings

OPEN_SLUG = "top-five-video-are-reasoning-stack-features-2026"


def test_a_form_without_its_csrf_token_is_refused(site: TestClient) -> None:
    response = site.post("/signup", data={"handle": "mallory", "password": PASSWORD})
    assert response.status_code == 403 and "expired" in response.text
    site.get("/signup")  # the session now has a token, but the form must carry it
    response = site.post(
        "/signup", data={"handle": "mallory", "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403


def test_sign_up_forecast_and_withdraw(site: TestClient) -> None:
    html = post_form(site, "/signup", "/signup", {"handle": "newbie", "password": PASSWORD})
    assert "Welcome, newbie" in html
    html = post_form(
        site, f"/claims/{OPEN_SLUG}", f"/claims/{OPEN_SLUG}/forecast", {"percent": "99.9"}
    )
    assert "Your forecast of 99.9% is recorded" in html and "You stand at" in html
    api = site.get(f"/api/v1/claims/{OPEN_SLUG}").json()
    assert api["forecasters"] == 6 and api["market_probability"] == 0.999
    assert "you: 99.9%" in site.get("/").text
    assert "Your standing forecasts" in site.get("/account").text
    assert f'href="/claims/{OPEN_SLUG}"' in site.get("/account").text
    html = post_form(
        site, f"/claims/{OPEN_SLUG}", f"/claims/{OPEN_SLUG}/forecast", {"percent": "0"}
    )
    assert "Not recorded" in html
    html = post_form(site, f"/claims/{OPEN_SLUG}", f"/claims/{OPEN_SLUG}/withdraw", {})
    assert "withdrawn" in html
    assert site.get(f"/api/v1/claims/{OPEN_SLUG}").json()["forecasters"] == 5


def test_sign_up_refuses_taken_handles_and_short_passwords(site: TestClient) -> None:
    token = csrf_of(site.get("/signup").text)
    taken = site.post("/signup", data={"handle": "ana", "password": PASSWORD, "csrf_token": token})
    assert taken.status_code == 422 and "taken" in taken.text
    short = site.post("/signup", data={"handle": "zed", "password": "short", "csrf_token": token})
    assert short.status_code == 422 and "at least 10" in short.text


def test_wrong_password_and_sign_out(site: TestClient) -> None:
    token = csrf_of(site.get("/signin").text)
    wrong = site.post("/signin", data={"handle": "maria", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "Wrong handle or password" in wrong.text
    sign_in(site, "maria")
    html = post_form(site, "/", "/signout", {})
    assert 'href="/signin"' in html and "/desk" not in html


def test_tokens_are_shown_once_and_revoked(site: TestClient) -> None:
    sign_in(site, "maria")
    html = post_form(site, "/account", "/account/tokens", {"label": "my-bot"})
    token = re.search(r'<code class="token">([^<]+)</code>', html)
    assert token is not None
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert site.get("/api/v1/me", headers=bearer).json()["handle"] == "maria"
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', html)
    assert token_id is not None
    html = post_form(site, "/account", f"/account/tokens/{token_id.group(1)}/revoke", {})
    assert "Token revoked" in html
    assert site.get("/api/v1/me", headers=bearer).status_code == 401


def test_pages_that_need_a_role(site: TestClient) -> None:
    assert (
        site.get("/account", follow_redirects=False).headers["location"] == "/signin?next=/account"
    )
    post_form(site, "/signup", "/signup", {"handle": "plain", "password": PASSWORD})
    assert site.get("/desk").status_code == 403


def test_editor_creates_edits_and_resolves_a_claim(site: TestClient, db: Database) -> None:
    sign_in(site, "maria")
    closes = datetime.now(UTC) + timedelta(days=3)
    bad = claim_form_data(closes, rules="[{not json")
    token = csrf_of(site.get("/desk/claims/new").text)
    response = site.post("/desk/claims/new", data={**bad, "csrf_token": token})
    assert response.status_code == 422 and "not valid JSON" in response.text
    html = post_form(site, "/desk/claims/new", "/desk/claims/new", claim_form_data(closes))
    assert "Published." in html and "A claim made at the desk" in html
    # saving the unchanged form changes nothing (CRLF from browsers included)
    form = csrf_of(site.get("/desk/claims/desk-made-claim").text)
    edited = claim_form_data(closes, title="A claim made at the desk, retitled")
    response = site.post("/desk/claims/desk-made-claim", data={**edited, "csrf_token": form})
    assert "changed: title" in response.text
    claim = site.get("/api/v1/claims/desk-made-claim").json()
    assert claim["version"] == 1 and claim["tags"] == ["desk", "video"]
    settled_at = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    html = post_form(
        site,
        "/desk/claims/desk-made-claim",
        "/desk/claims/desk-made-claim/resolve",
        {"outcome": "annulled", "note": "Premise failed.", "closed_at": settled_at},
    )
    assert "Not settled" in html  # it opened after that moment
    html = post_form(
        site,
        "/desk/claims/desk-made-claim",
        "/desk/claims/desk-made-claim/resolve",
        {"outcome": "annulled", "note": "Premise failed.", "closed_at": ""},
    )
    assert "Not settled" in html and "still open" in html
    html = post_form(
        site,
        "/desk/claims/desk-made-claim",
        "/desk/claims/desk-made-claim/resolve",
        {"outcome": "annulled", "note": "nul\x00byte", "closed_at": ""},
    )
    assert "Not settled: Note: must not contain NUL bytes." in html  # not "Value error, …"
    html = post_form(
        site,
        "/desk/claims/gemini-omni-announced-at-io-2026",
        "/desk/claims/gemini-omni-announced-at-io-2026/resolve",
        {"outcome": "no", "note": "Re-read the keynote.", "closed_at": ""},
    )
    assert "Settled: no" in html and "re resolved" in html


def test_an_account_made_by_the_command_signs_in_once_it_has_a_password(
    site: TestClient, db: Database
) -> None:
    from claims.errors import Invalid
    from forecasts.accounts.service import get_account, set_password

    with db.writing() as session:
        account = get_account(session, "desk")  # the demo editor, made without a password
        with pytest.raises(Invalid):
            set_password(session, account, "short")
        set_password(session, account, PASSWORD)
    sign_in(site, "desk")
    assert "Editors' desk" in site.get("/desk").text


def test_wrong_passwords_lock_the_handle_for_a_while(db: Database) -> None:
    from web.pages.throttle import FailedSignIns
    from web.ratelimits import SlowDown

    failed = FailedSignIns(limit=3, window=timedelta(seconds=60))
    start = datetime(2026, 5, 1, tzinfo=UTC)

    def attempt(handle: str, second: float, client: str = "10.0.0.1") -> int:
        return failed.attempt(db, handle, client, start + timedelta(seconds=second))

    for second in range(3):
        attempt("ana", second)  # never taken back: three failures
    with pytest.raises(SlowDown) as locked:
        attempt("ana", 3)
    assert locked.value.retry_after == 57
    attempt("ana", 3, client="10.0.0.2")  # a failing stranger locks only their own address
    attempt("bob", 3)
    failed.forget(db, attempt("ana", 60.5))  # the first failure has aged out; a right password
    attempt("bob", 200)  # and every old row is deleted with the next attempt
    with db.reading() as session:
        rows = session.connection().exec_driver_sql("SELECT handle FROM sign_in_failures").all()
    assert [tuple(row) for row in rows] == [("bob",)]


def test_every_process_counts_the_same_wrong_passwords(
    site: TestClient, database_url: str, demo_clock: FakeClock
) -> None:
    """Two apps on one database (as two processes would be): failures add up across them."""
    settings = Settings(database_url=database_url, rate_limit=0, secret_key="test-secret")
    with TestClient(create_app(settings, clock=demo_clock, migrate=False)) as other:
        answers = []
        for attempt in range(12):
            client = (site, other)[attempt % 2]
            token = csrf_of(client.get("/signin").text)
            response = client.post(
                "/signin", data={"handle": "maria", "password": "wrong", "csrf_token": token}
            )
            answers.append(response.status_code)
        assert answers == [401] * 10 + [429] * 2
        token = csrf_of(other.get("/signin").text)
        right = {"handle": "maria", "password": PASSWORD, "csrf_token": token}
        locked = other.post("/signin", data=right)
        assert locked.status_code == 429 and "try again in 60 s" in locked.text
        demo_clock.advance(seconds=61)
        assert other.post("/signin", data=right).status_code == 200


def _post_form(client: TestClient, path: str, **fields: str) -> str:
    token = csrf_of(client.get("/account").text)
    response = client.post(path, data={**fields, "csrf_token": token})
    assert response.status_code == 200, response.text
    return response.text


def _signed_in(client: TestClient) -> bool:
    return 'action="/signout"' in client.get("/").text


def test_a_new_password_signs_out_every_other_browser(site: TestClient) -> None:
    other = TestClient(site.app)  # a second browser, same account
    sign_in(site, "maria")
    sign_in(other, "maria")
    new = "another horse battery"
    refused = (
        ({"current": "wrong", "new": new, "again": new}, "the current password is not right"),
        ({"current": PASSWORD, "new": new, "again": new + "x"}, "the two new passwords differ"),
        ({"current": PASSWORD, "new": "short", "again": "short"}, "Password not changed:"),
    )
    for fields, message in refused:
        assert message in _post_form(site, "/account/password", **fields)
    assert _signed_in(other)  # nothing changed yet
    page = _post_form(site, "/account/password", current=PASSWORD, new=new, again=new)
    assert "Password changed" in page
    assert _signed_in(site) and not _signed_in(other)
    assert other.get("/account", follow_redirects=False).status_code == 303
    sign_in(other, "maria", new)
    with pytest.raises(AssertionError):
        sign_in(TestClient(site.app), "maria")  # the old password no longer works


def test_sign_out_everywhere_else(site: TestClient, database_url: str) -> None:
    other = TestClient(site.app)
    sign_in(site, "maria")
    sign_in(other, "maria")
    assert "Every other session is signed out" in _post_form(site, "/account/sessions/end")
    assert _signed_in(site) and not _signed_in(other)
    # the command that revokes an account's tokens ends its sessions too
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["user", "revoke", "maria"], env={"FORECAST_LEDGER_DATABASE_URL": database_url}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and "ended its site sessions" in result.output
    assert not _signed_in(site)


def test_admins_change_roles_on_the_desk(site: TestClient, db: Database) -> None:
    with db.writing() as session:
        create_account(session, "chief", role="admin", now=T0, password=PASSWORD)
    sign_in(site, "maria")  # an editor: the page is not for her
    assert site.get("/desk/accounts").status_code == 403
    assert "Accounts and roles" not in site.get("/desk").text
    sign_in(site, "chief")
    assert "Accounts and roles" in site.get("/desk").text
    page = site.get("/desk/accounts", params={"q": "mar"}).text
    assert 'href="/forecasters/maria"' in page and 'href="/forecasters/chief"' not in page
    assert '<option value="editor" selected>' in page
    changed = site.post(
        "/desk/accounts/maria/role", data={"role": "forecaster", "csrf_token": csrf_of(page)}
    )
    assert "@maria is now forecaster." in changed.text
    refused = site.post(
        "/desk/accounts/chief/role", data={"role": "editor", "csrf_token": csrf_of(page)}
    )
    assert "Role not changed: the last admin cannot be demoted" in refused.text
    bad = site.post(
        "/desk/accounts/maria/role", data={"role": "owner", "csrf_token": csrf_of(page)}
    )
    assert "Role not changed: Role: must be one of" in bad.text
    sign_in(site, "maria")
    assert site.get("/desk", follow_redirects=False).status_code == 403  # no longer an editor


def test_desk_times_at_the_edge_of_the_calendar_are_refused(site: TestClient) -> None:
    sign_in(site, "maria")
    closes = datetime.now(UTC) + timedelta(days=3)
    for field, moment in (
        ("opens_at", "0001-01-01T00:00:00+01:00"),
        ("closes_at", "9999-12-31T23:59:59-14:00"),
    ):
        token = csrf_of(site.get("/desk/claims/new").text)
        data = {**claim_form_data(closes), field: moment, "csrf_token": token}
        response = site.post("/desk/claims/new", data=data)
        assert response.status_code == 422 and field.replace("_", " ") in response.text.lower()
        assert "calendar" in response.text
    html = post_form(
        site,
        f"/desk/claims/{OPEN_SLUG}",
        f"/desk/claims/{OPEN_SLUG}/resolve",
        {"outcome": "yes", "note": "", "closed_at": "0001-01-01T00:00:00+01:00"},
    )
    assert "Not settled: closed at:" in html and "calendar" in html
