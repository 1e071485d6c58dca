"""Email streams for claims of every kind (SPEC §7, §9): the recipient's own standing in
words, and stale forecasts found whatever the other owners' settings."""

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from forecasts.notify.email import streams as email_streams
from forecasts.notify.notices import send_closing_soon
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.smtp_server import SmtpServer
from tests.web.kinds import make_kind_claim, post_forecast
from tests.web.test_email import confirmed, mail_settings, send, site, smtp, streams
from web.db import Database
from web.settings import Settings

__all__ = ["mail_settings", "site", "smtp"]
API = "/api/v1"
DAYS = timedelta(days=1)
MEDIAN = re.compile(r"a median of 2,1\d\d,000 USD")


def test_closing_soon_and_stale_emails_say_your_own_forecast_of_every_kind(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
) -> None:
    confirmed(site, db, clock, mail_settings, smtp, tokens.alice)
    modes = {"closing_soon": "immediate", "stale_forecasts": "immediate", "scores": "immediate"}
    streams(site, tokens.alice, streams=modes, stale_after_days=3)
    make_kind_claim(site, tokens.editor, "multiple_choice", closes_at=T0 + 30 * DAYS)
    make_kind_claim(site, tokens.editor, "numeric", closes_at=T0 + 30 * DAYS)
    alice_choice = {"probabilities": {"Sora": 0.2, "Veo": 0.5, "Another product": 0.3}}
    bob_choice = {"probabilities": {"Sora": 0.7, "Veo": 0.2, "Another product": 0.1}}
    alice_number = {"quantiles": [[0.1, 500_000], [0.5, 2_100_000], [0.9, 20_000_000]]}
    bob_number = {"quantiles": [[0.1, 150_000], [0.5, 300_000], [0.9, 900_000]]}
    for token, choice, number in (
        (tokens.alice, alice_choice, alice_number),
        (tokens.bob, bob_choice, bob_number),
    ):
        assert post_forecast(site, token, "a-multiple-choice-claim", choice).status_code == 201
        assert post_forecast(site, token, "a-numeric-claim", number).status_code == 201
    clock.advance(days=4)
    send(db, clock, mail_settings)
    stale = "\n".join(message.get_content() for message in smtp.mailbox.take())
    # the stored CDF's median: 2.1 million read off the 201-point grid, to 4 digits
    assert "Veo at 50%" in stale and MEDIAN.search(stale)
    assert "Sora at 70%" not in stale and "300,000" not in stale  # bob's stays bob's
    clock.set(T0 + 29 * DAYS + timedelta(hours=1))
    send_closing_soon(db.write_engine, clock, DAYS)
    send(db, clock, mail_settings)
    closing = "\n".join(message.get_content() for message in smtp.mailbox.take())
    assert closing.count("your forecast: ") == 2
    assert "your forecast: Veo at 50%" in closing
    assert re.search(r"your forecast: " + MEDIAN.pattern, closing)
    clock.set(T0 + 31 * DAYS)
    resolved = site.post(
        f"{API}/claims/a-numeric-claim/resolution",
        json={"outcome": 2_100_000},
        headers=auth(tokens.editor),
    )
    assert resolved.status_code == 200, resolved.text
    send(db, clock, mail_settings)
    [scored] = smtp.mailbox.take()
    crps = site.get(f"{API}/claims/a-numeric-claim/scores").json()["items"]
    [mine] = [row["crps"] for row in crps if row["handle"] == "alice"]
    assert f"resolved 2,100,000; your CRPS: {mine}" in scored.get_content()


def test_stale_forecasts_of_one_owner_are_found_behind_many_of_another(
    site: TestClient,
    db: Database,
    clock: FakeClock,
    mail_settings: Settings,
    smtp: SmtpServer,
    tokens: Tokens,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bob's forecasts are days old but not yet stale by his 30 days; alice's one is stale
    by her 3. With a batch of two, bob's must not fill every batch."""
    monkeypatch.setattr(email_streams, "BATCH", 2)
    stale_too = {"stale_forecasts": "immediate"}
    for token, days in ((tokens.bob, 30), (tokens.alice, 3)):
        confirmed(site, db, clock, mail_settings, smtp, token)
        streams(site, token, streams=stale_too, stale_after_days=days)
    for k in range(4):
        make_claim(site, tokens.editor, slug=f"claim-{k}", closes_at=T0 + 60 * DAYS)
        body = {"probability": 0.4}
        headers = auth(tokens.bob)
        assert site.post(f"{API}/claims/claim-{k}/forecasts", json=body, headers=headers).is_success
    alices = {"probability": 0.62}
    posted = site.post(f"{API}/claims/claim-3/forecasts", json=alices, headers=auth(tokens.alice))
    assert posted.status_code == 201
    clock.advance(days=5)
    send(db, clock, mail_settings)
    [message] = smtp.mailbox.take()
    assert message["To"] == "alice@example.org" and "62%" in message.get_content()
