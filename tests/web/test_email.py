"""Email (SPEC §9) through the app and a real SMTP server on 127.0.0.1: confirmation, each
stream with its one-click unsubscribe, digests, retries, and the switch that turns it off."""

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from forecasts.accounts.service import create_account
from forecasts.notify.email.models import EmailMessage as Queued
from forecasts.notify.email.models import EmailToken
from forecasts.notify.email.worker import run_email
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.smtp_server import SmtpServer, smtp
from tests.web.pages.conftest import PASSWORD, csrf_of, sign_in
from web.app import create_app
from web.db import Database
from web.settings import Settings

__all__ = ["smtp"]
API = "/api/v1"
SITE = "http://testserver"
_LINK = re.compile(r"http://testserver/[a-z]+/[A-Za-z0-9_-]+")


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": smtp.url,
            "public_url": SITE,
            "email_from": "ledger@testserver",
            "secret_key": "test-secret",
        }
    )


@pytest.fixture
def site(mail_settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings, clock=clock, migrate=False)) as client:
        yield client


def send(db: Database, clock: FakeClock, settings: Settings) -> int:
    """One turn of the scheduler's email job."""
    mailer = settings.mailer()
    assert mailer is not None
    return run_email(db.write_engine, clock, mailer)


def link_in(message: EmailMessage, kind: str) -> str:
    body = message.get_content()
    found = [url for url in _LINK.findall(body) if f"/{kind}/" in url]
    assert found, body
    return found[0].removeprefix(SITE)


def confirmed(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    smtp: SmtpServer,
    token: str,
) -> None:
    """Give the account an address and confirm it through the link it gets."""
    handle = site.get(f"{API}/me", headers=auth(token)).json()["handle"]
    body = {"address": f"{handle}@example.org"}
    assert site.put(f"{API}/me/email", json=body, headers=auth(token)).status_code == 202
    send(db, clock, settings)
    [message] = smtp.mailbox.take()
    path = link_in(message, "confirm")
    page = site.get(path)
    assert page.status_code == 200 and "example.org" in page.text
    done = site.post(path, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "is confirmed" in done.text


def streams(site: TestClient, token: str, **modes: Any) -> dict[str, Any]:
    response = site.patch(f"{API}/me/email", json=modes, headers=auth(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_email_off_answers_409_and_pages_say_so(
    settings: Settings, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    with db.writing() as session:
        create_account(session, "maria", role="forecaster", now=T0, password=PASSWORD)
    off = settings.model_copy(update={"secret_key": "test-secret"})
    with TestClient(create_app(off, clock=clock, migrate=False)) as client:
        _off_everywhere(client, tokens)
        sign_in(client, "maria")
        assert "Email is off on this site." in client.get("/account").text
        token = csrf_of(client.get("/account").text)
        form = {"csrf_token": token, "address": "maria@example.org", "password": PASSWORD}
        refused = client.post("/account/email", data=form)
        assert refused.status_code == 409 and "email is off on this site" in refused.text


def _off_everywhere(client: TestClient, tokens: Tokens) -> None:
    headers = auth(tokens.alice)
    for method in ("PUT", "GET", "PATCH", "DELETE"):
        body = {"address": "a@example.org"} if method == "PUT" else {}
        answer = client.request(method, f"{API}/me/email", json=body, headers=headers)
        assert answer.status_code == 409, method
        assert answer.json() == {"detail": "email is off on this site"}
    assert "Email is off on this site" in client.get("/reset").text


def test_a_confirmation_link_confirms_once(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    put = site.put(
        f"{API}/me/email", json={"address": "alice@example.org"}, headers=auth(tokens.alice)
    )
    assert put.status_code == 202 and put.json()["confirmed"] is False
    assert send(db, clock, mail_settings) == 1
    [message] = smtp.mailbox.take()
    assert message["To"] == "alice@example.org" and message["From"] == "ledger@testserver"
    path = link_in(message, "confirm")
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits
    with db.reading() as session:  # only its hash is kept
        hashes = [t.token_hash for t in session.exec(select(EmailToken))]
    assert token not in hashes and all(h is None or len(h) == 64 for h in hashes)
    form = site.get(path)
    assert form.status_code == 200 and "<button" in form.text
    assert site.get(f"{API}/me/email", headers=auth(tokens.alice)).json()["confirmed"] is False
    done = site.post(path, data={"csrf_token": csrf_of(form.text)})
    assert done.status_code == 200
    assert site.get(f"{API}/me/email", headers=auth(tokens.alice)).json()["confirmed"] is True
    again = site.post(path, data={"csrf_token": csrf_of(form.text)})
    assert again.status_code == 404


def test_five_confirmations_a_day(site: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    for n in range(5):
        body = {"address": f"alice{n}@example.org"}
        assert site.put(f"{API}/me/email", json=body, headers=auth(tokens.alice)).status_code == 202
    sixth = site.put(
        f"{API}/me/email", json={"address": "x@example.org"}, headers=auth(tokens.alice)
    )
    assert sixth.status_code == 429
    clock.advance(days=1, seconds=1)
    body = {"address": "x@example.org"}
    assert site.put(f"{API}/me/email", json=body, headers=auth(tokens.alice)).status_code == 202


def test_a_confirmation_link_expires_after_a_day(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    site.put(f"{API}/me/email", json={"address": "alice@example.org"}, headers=auth(tokens.alice))
    send(db, clock, mail_settings)
    path = link_in(smtp.mailbox.take()[0], "confirm")
    clock.advance(hours=24, seconds=1)
    assert site.get(path).status_code == 404


def test_bad_settings_are_422_naming_the_field(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    # a non-ASCII local part would be refused by a relay without SMTPUTF8 at every attempt
    for address in ("not an address", "é@example.org", "ana@example", "a<b>@example.org"):
        bad = site.put(f"{API}/me/email", json={"address": address}, headers=auth(tokens.alice))
        assert bad.status_code == 422 and "address" in bad.text, address
    fine = {"address": "o'brien+ledger@mail.example.co.uk"}
    assert site.put(f"{API}/me/email", json=fine, headers=auth(tokens.alice)).status_code == 202
    assert site.delete(f"{API}/me/email", headers=auth(tokens.alice)).status_code == 204
    confirmed(site, db, clock, mail_settings, smtp, tokens.alice)
    for body, field in (
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"streams": {"scores": "sometimes"}}, "scores"),
        ({"streams": {"gossip": "off"}}, "gossip"),
    ):
        answer = site.patch(f"{API}/me/email", json=body, headers=auth(tokens.alice))
        assert answer.status_code == 422 and field in answer.text, body


def _one_click(path: str, mail_settings: Settings, clock: FakeClock) -> None:
    """RFC 8058: a POST with List-Unsubscribe=One-Click, from a client with no cookie."""
    with TestClient(create_app(mail_settings, clock=clock, migrate=False)) as fresh:
        answer = fresh.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200, answer.text


def _stream_email(message: EmailMessage) -> str:
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"]).strip()  # folded when long
    assert header.startswith(f"<{SITE}/unsubscribe/") and header.endswith(">")
    return header[1:-1].removeprefix(SITE)


def test_every_stream_arrives_with_a_working_unsubscribe(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    confirmed(site, db, clock, mail_settings, smtp, tokens.alice)
    every = {
        name: "immediate" for name in ("closing_soon", "stale_forecasts", "scores", "new_claims")
    }
    streams(site, tokens.alice, streams=every, tags=["video"], stale_after_days=3)
    make_claim(site, tokens.editor, slug="in-video", closes_at=T0 + timedelta(days=30))
    make_claim(
        site, tokens.editor, slug="elsewhere", tags=["other"], closes_at=T0 + timedelta(days=30)
    )
    send(db, clock, mail_settings)
    [new_claim] = smtp.mailbox.take()
    assert (
        "/claims/in-video" in new_claim.get_content() and "elsewhere" not in new_claim.get_content()
    )
    # alice and bob forecast; 4 days later alice's forecast is stale
    for token, p in ((tokens.alice, 0.31), (tokens.bob, 0.87)):
        site.post(f"{API}/claims/in-video/forecasts", json={"probability": p}, headers=auth(token))
    clock.advance(days=4)
    send(db, clock, mail_settings)
    [stale] = smtp.mailbox.take()
    assert "31%" in stale.get_content() and "87%" not in stale.get_content()
    # a day before the close: closing soon (the webhooks' job writes the event)
    from forecasts.notify.notices import send_closing_soon

    clock.set(T0 + timedelta(days=29, hours=1))
    send_closing_soon(db.write_engine, clock, timedelta(days=1))
    send(db, clock, mail_settings)
    [closing] = smtp.mailbox.take()
    assert "31%" in closing.get_content() and "87%" not in closing.get_content()
    clock.set(T0 + timedelta(days=31))
    resolved = site.post(
        f"{API}/claims/in-video/resolution", json={"outcome": "no"}, headers=auth(tokens.editor)
    )
    assert resolved.status_code == 200, resolved.text
    send(db, clock, mail_settings)
    [scored] = smtp.mailbox.take()
    assert "Brier" in scored.get_content() and "0.0961" in scored.get_content()
    for message, stream in (
        (new_claim, "new_claims"),
        (stale, "stale_forecasts"),
        (closing, "closing_soon"),
        (scored, "scores"),
    ):
        assert message["To"] == "alice@example.org"
        _one_click(_stream_email(message), mail_settings, clock)
        now = site.get(f"{API}/me/email", headers=auth(tokens.alice)).json()["streams"]
        assert now[stream] == "off", stream
    assert set(now.values()) == {"off"}


def test_one_digest_a_local_day_never_empty(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    confirmed(site, db, clock, mail_settings, smtp, tokens.alice)
    zone = ZoneInfo("America/New_York")
    streams(
        site,
        tokens.alice,
        streams={"new_claims": "digest"},
        tags=["video"],
        digest_hour=8,
        time_zone="America/New_York",
    )
    clock.set(T0.replace(hour=11))  # 06:00 in New York
    make_claim(site, tokens.editor, slug="first-claim")
    make_claim(site, tokens.editor, slug="second-claim")
    send(db, clock, mail_settings)
    assert smtp.mailbox.take() == []  # not before the digest hour
    clock.set(T0.replace(hour=13, minute=5))  # 08:05 in New York
    assert clock.now.astimezone(zone).hour == 8
    send(db, clock, mail_settings)
    [digest] = smtp.mailbox.take()
    body = digest.get_content()
    assert "/claims/first-claim" in body and "/claims/second-claim" in body
    make_claim(site, tokens.editor, slug="third-claim")
    clock.advance(hours=3)
    send(db, clock, mail_settings)
    assert smtp.mailbox.take() == []  # one digest a day
    clock.advance(days=1)
    send(db, clock, mail_settings)
    [next_day] = smtp.mailbox.take()
    assert "/claims/third-claim" in next_day.get_content()
    clock.advance(days=1)
    send(db, clock, mail_settings)
    assert smtp.mailbox.take() == []  # nothing new: no digest
    _one_click(_stream_email(next_day), mail_settings, clock)
    assert streams(site, tokens.alice)["streams"]["new_claims"] == "off"


def test_a_4xx_is_retried_on_the_schedule_and_a_5xx_dropped(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    smtp.mailbox.refuse = "451 4.3.0 try again later"
    site.put(f"{API}/me/email", json={"address": "alice@example.org"}, headers=auth(tokens.alice))
    assert send(db, clock, mail_settings) == 0
    with db.reading() as session:
        [queued] = session.exec(select(Queued))
    assert queued.status == "pending" and queued.attempts == 1
    assert queued.next_attempt_at is not None and "451" in (queued.last_error or "")
    assert queued.next_attempt_at - clock.now <= timedelta(minutes=1)
    smtp.mailbox.refuse = None
    assert send(db, clock, mail_settings) == 0  # not due yet
    clock.advance(minutes=1, seconds=1)
    assert send(db, clock, mail_settings) == 1
    assert len(smtp.mailbox.take()) == 1
    smtp.mailbox.refuse = "550 5.1.1 no such mailbox"
    site.put(f"{API}/me/email", json={"address": "bob@example.org"}, headers=auth(tokens.bob))
    send(db, clock, mail_settings)
    clock.advance(hours=1)
    send(db, clock, mail_settings)
    with db.reading() as session:
        dropped = session.exec(select(Queued).where(Queued.account_id != queued.account_id)).one()
    assert dropped.status == "dropped" and dropped.attempts == 1


def test_a_lost_server_is_retried(
    site: TestClient, db: Database, clock: FakeClock, mail_settings: Settings, tokens: Tokens
) -> None:
    from tests.e2e.conftest import free_port

    gone = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}?tls=none"})
    site.put(f"{API}/me/email", json={"address": "alice@example.org"}, headers=auth(tokens.alice))
    assert send(db, clock, gone) == 0
    with db.reading() as session:
        queued = session.exec(select(Queued)).one()
    assert queued.status == "pending" and queued.attempts == 1


def test_link_tokens_never_reach_the_log(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
    caplog: pytest.LogCaptureFixture,
) -> None:
    site.put(f"{API}/me/email", json={"address": "alice@example.org"}, headers=auth(tokens.alice))
    send(db, clock, mail_settings)
    path = link_in(smtp.mailbox.take()[0], "confirm")
    site.get(path)
    site.get("/reset/" + "x" * 43)
    token = path.rsplit("/", 1)[1]
    assert token not in caplog.text
    assert "GET /confirm/… 200" in caplog.text and "GET /reset/… 404" in caplog.text
