"""What each SMTP reply does to an email (SPEC §9): 4xx retried on the schedule, 5xx to the
message dropped (at any step), the tenth failure final; each logged with the server's reason."""

import pytest

from forecasts.notify.claiming import retry_delay
from forecasts.notify.email.worker import run_email
from tests.factories import FakeClock, queue_confirmation, the_email
from tests.smtp_server import SmtpServer, mailer_for, smtp
from web.db import Database
from web.settings import Settings

__all__ = ["smtp"]


@pytest.mark.parametrize(
    ("stage", "reply", "status"),
    [
        ("refuse_data", "452 4.3.1 Insufficient system storage", "pending"),
        ("refuse_data", "554 5.7.1 Message rejected as spam", "dropped"),
        ("refuse", "450 4.2.1 Mailbox busy", "pending"),
        ("refuse", "550 5.1.1 No such user", "dropped"),
        # SPEC §9: a 5xx drops the message at any step, EHLO included (a 4xx there retries)
        ("refuse_helo", "550 5.7.1 Your HELO name is not welcome", "dropped"),
        ("refuse_helo", "421 4.7.0 Try again later", "pending"),
    ],
)
def test_a_reply_to_the_message_retries_a_4xx_and_drops_a_5xx(
    db: Database,
    clock: FakeClock,
    settings: Settings,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
    stage: str,
    reply: str,
    status: str,
) -> None:
    caplog.set_level("INFO")
    setattr(smtp.mailbox, stage, reply)
    queue_confirmation(db, handle="ana", now=clock())
    assert run_email(db.write_engine, clock, mailer_for(settings, smtp.url)) == 0
    message = the_email(db)
    assert (message.status, message.attempts) == (status, 1)
    assert message.last_error == reply
    word = "retry" if status == "pending" else "dropped"
    assert f"email {message.id}: {word}: {reply}" in caplog.text


def test_the_tenth_failure_is_final_and_logged(
    db: Database,
    clock: FakeClock,
    settings: Settings,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    smtp.mailbox.refuse = "451 4.3.0 Try again later"
    queue_confirmation(db, handle="ana", now=clock())
    mailer = mailer_for(settings, smtp.url)
    for failed in range(1, 12):  # 8.5 hours in all: the link (24 h) is still good
        run_email(db.write_engine, clock, mailer)
        clock.advance(seconds=retry_delay(min(failed, 9)).total_seconds() + 1)
    message = the_email(db)
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 10, None)
    assert caplog.text.count(f"email {message.id}: retry: ") == 9
    assert f"email {message.id}: failed: 451 4.3.0 Try again later" in caplog.text
