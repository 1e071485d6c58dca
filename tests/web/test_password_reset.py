"""Password reset by email (SPEC §9), through the pages and a real SMTP server."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from forecasts.accounts.service import create_account
from tests.factories import T0, FakeClock
from tests.smtp_server import SmtpServer, smtp
from tests.web.pages.conftest import PASSWORD, csrf_of, sign_in
from tests.web.test_email import link_in, mail_settings, send
from web.app import create_app
from web.db import Database
from web.settings import Settings

__all__ = ["mail_settings", "smtp"]
NEW = "a brand new passphrase"


@pytest.fixture
def site(mail_settings: Settings, clock: FakeClock, db: Database) -> Iterator[TestClient]:
    with db.writing() as session:
        create_account(session, "maria", role="forecaster", now=T0, password=PASSWORD)
        create_account(session, "nobody-mailed", role="forecaster", now=T0, password=PASSWORD)
    with TestClient(create_app(mail_settings, clock=clock, migrate=False)) as client:
        sign_in(client, "maria")
        page = client.get("/account")
        form = {
            "csrf_token": csrf_of(page.text),
            "address": "maria@example.org",
            "password": PASSWORD,
        }
        assert client.post("/account/email", data=form).status_code == 200
        yield client


def _confirm(
    site: TestClient, db: Database, clock: FakeClock, settings: Settings, smtp: SmtpServer
) -> None:
    send(db, clock, settings)
    path = link_in(smtp.mailbox.take()[0], "confirm")
    site.post(path, data={"csrf_token": csrf_of(site.get(path).text)})


def _ask(client: TestClient, handle: str) -> str:
    token = csrf_of(client.get("/reset").text)
    answer = client.post("/reset", data={"csrf_token": token, "handle": handle})
    assert answer.status_code == 200
    return answer.text


def test_the_account_page_manages_email(
    site: TestClient, db: Database, clock: FakeClock, mail_settings: Settings, smtp: SmtpServer
) -> None:
    page = site.get("/account")
    assert "maria@example.org" in page.text and "waiting for you" in page.text
    _confirm(site, db, clock, mail_settings, smtp)
    page = site.get("/account")
    assert "(confirmed)" in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "scores": "digest",
        "new_claims": "immediate",
        "tags": "video, ai",
        "digest_hour": "7",
        "stale_after_days": "10",
        "time_zone": "Europe/Lisbon",
    }
    assert site.post("/account/email/settings", data=form).status_code == 200
    page = site.get("/account")
    assert 'value="Europe/Lisbon"' in page.text and 'value="ai, video"' in page.text
    assert '<option value="digest" selected>' in page.text


def test_a_reset_link_works_once_and_ends_every_session(
    site: TestClient, db: Database, clock: FakeClock, mail_settings: Settings, smtp: SmtpServer
) -> None:
    _confirm(site, db, clock, mail_settings, smtp)
    with TestClient(create_app(mail_settings, clock=clock, migrate=False)) as stranger:
        known = _ask(stranger, "maria")
        unknown = _ask(stranger, "no-such-handle")
        unmailed = _ask(stranger, "nobody-mailed")
        assert known == unknown == unmailed  # the same answer whoever it is
        send(db, clock, mail_settings)
        [message] = smtp.mailbox.take()
        assert message["To"] == "maria@example.org"
        path = link_in(message, "reset")
        form = stranger.get(path)
        assert form.status_code == 200 and "maria" in form.text
        done = stranger.post(
            path, data={"csrf_token": csrf_of(form.text), "new": NEW, "again": NEW}
        )
        assert done.status_code == 200 and "Sign in" in done.text
        assert "maria</a>" not in done.text  # nobody is signed in
        again = stranger.post(
            path, data={"csrf_token": csrf_of(form.text), "new": NEW, "again": NEW}
        )
        assert again.status_code == 404
        sign_in(stranger, "maria", NEW)
    assert site.get("/account", follow_redirects=False).status_code == 303  # ended


def test_a_newer_link_or_a_password_change_voids_a_link(
    site: TestClient, db: Database, clock: FakeClock, mail_settings: Settings, smtp: SmtpServer
) -> None:
    _confirm(site, db, clock, mail_settings, smtp)
    _ask(site, "maria")
    send(db, clock, mail_settings)
    first = link_in(smtp.mailbox.take()[0], "reset")
    _ask(site, "maria")
    send(db, clock, mail_settings)
    second = link_in(smtp.mailbox.take()[0], "reset")
    assert site.get(first).status_code == 404
    assert site.get(second).status_code == 200
    token = csrf_of(site.get("/account").text)
    changed = {"csrf_token": token, "current": PASSWORD, "new": NEW, "again": NEW}
    assert site.post("/account/password", data=changed).status_code == 200
    assert site.get(second).status_code == 404
    clock.advance(hours=2)
    _ask(site, "maria")
    send(db, clock, mail_settings)
    third = link_in(smtp.mailbox.take()[0], "reset")
    clock.advance(hours=1, seconds=1)
    assert site.get(third).status_code == 404  # an hour at most


def test_three_resets_an_hour(
    site: TestClient, db: Database, clock: FakeClock, mail_settings: Settings, smtp: SmtpServer
) -> None:
    _confirm(site, db, clock, mail_settings, smtp)
    for _ in range(4):
        _ask(site, "maria")
        send(db, clock, mail_settings)  # (each newer link voids the one before)
    assert len(smtp.mailbox.take()) == 3
    clock.advance(hours=1, seconds=1)
    _ask(site, "maria")
    send(db, clock, mail_settings)
    assert len(smtp.mailbox.take()) == 1
