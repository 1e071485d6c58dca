"""Two email workers on one database (SQLite file or PostgreSQL): every due email is sent
once; the one resend the design allows (a lost acknowledgement) keeps its Message-ID."""

import threading
from collections import Counter
from email.message import EmailMessage as Mime
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select, update

from claims.clock import Clock
from forecasts.notify.email.models import EmailAddress, EmailCursor, EmailItem, EmailMessage
from forecasts.notify.email.sending import send_due
from forecasts.notify.email.smtp import Outcome, SmtpTarget, send_message
from forecasts.notify.email.streams import collect_events
from forecasts.notify.email.worker import run_email
from forecasts.notify.events import EventName, emit
from tests.conftest import ON_POSTGRES
from tests.factories import FakeClock, queue_confirmation
from tests.smtp_server import SmtpServer, mailer_for, smtp
from web.db import Database
from web.settings import Settings

__all__ = ["smtp"]


def recipients(server: SmtpServer) -> Counter[str]:
    return Counter(str(message["To"]) for message in server.mailbox.messages)


def statuses(db: Database) -> Counter[str]:
    with db.reading() as session:
        return Counter(session.exec(select(EmailMessage.status)).all())


def test_a_slow_batch_leaves_no_lease_to_run_out_before_its_send(
    db: Database, clock: FakeClock, settings: Settings, smtp: SmtpServer
) -> None:
    """Each send takes 70 s (under the 2-minute lease); meanwhile another worker runs. A
    worker that leased a whole batch up front had its later leases run out while it sent
    the first ones: the other worker sent them too."""
    for handle in ("ana", "ben", "cleo"):
        queue_confirmation(db, handle=handle, now=clock())
    mailer = mailer_for(settings, smtp.url)
    other = Database(settings.database_url)

    def slow(target: SmtpTarget, message: Mime) -> tuple[Outcome, str | None]:
        clock.advance(seconds=70)
        send_due(other.write_engine, clock, mailer)
        return send_message(target, message)

    try:
        send_due(db.write_engine, clock, mailer, slow)
    finally:
        other.dispose()
    assert recipients(smtp) == {f"{h}@example.org": 1 for h in ("ana", "ben", "cleo")}
    assert statuses(db) == {"sent": 3}


def test_a_resend_after_a_lost_acknowledgement_keeps_its_message_id(
    db: Database, clock: FakeClock, settings: Settings, smtp: SmtpServer
) -> None:
    queue_confirmation(db, handle="ana", now=clock())
    mailer = mailer_for(settings, smtp.url)

    def lost(target: SmtpTarget, message: Mime) -> tuple[Outcome, str | None]:
        send_message(target, message)  # the server has it; its "250" never arrives
        return Outcome.RETRY, "SMTPServerDisconnected: Connection unexpectedly closed"

    assert send_due(db.write_engine, clock, mailer, lost) == 0
    clock.advance(minutes=1, seconds=1)
    assert send_due(db.write_engine, clock, mailer) == 1
    first, again = smtp.mailbox.take()
    assert first["Message-ID"] == again["Message-ID"] and "@testserver>" in first["Message-ID"]
    assert statuses(db) == {"sent": 1}


def test_a_message_that_breaks_the_sender_does_not_stop_the_others(
    db: Database, clock: FakeClock, settings: Settings, smtp: SmtpServer
) -> None:
    for handle in ("ana", "ben"):
        queue_confirmation(db, handle=handle, now=clock())
    mailer = mailer_for(settings, smtp.url)

    def picky(target: SmtpTarget, message: Mime) -> tuple[Outcome, str | None]:
        if message["To"] == "ana@example.org":
            raise UnicodeEncodeError("ascii", "ä", 0, 1, "ordinal not in range(128)")
        return send_message(target, message)

    assert send_due(db.write_engine, clock, mailer, picky) == 1
    assert recipients(smtp) == {"ben@example.org": 1}
    with db.reading() as session:
        broken = session.exec(select(EmailMessage).where(EmailMessage.status == "pending")).one()
    assert broken.attempts == 1 and "UnicodeEncodeError" in (broken.last_error or "")


def subscriber(db: Database, handle: str, clock: Clock) -> int:
    """A confirmed address that gets new claims tagged video at once; its account id."""
    account_id = queue_confirmation(db, handle=handle, now=clock())
    with db.writing() as session:
        session.exec(update(EmailMessage).values(status="sent"))  # its confirmation
        session.exec(
            update(EmailAddress)
            .where(col(EmailAddress.account_id) == account_id)
            .values(confirmed_at=clock(), new_claims="immediate", tags=["video"])
        )
        session.commit()
    return account_id


def waiting_items(db: Database, handles: list[str], clock: Clock) -> None:
    """Subscribers, each with an immediate stream item not yet in a message."""
    for handle in handles:
        account_id = subscriber(db, handle, clock)
        with db.writing() as session:
            facts: dict[str, Any] = {"slug": f"claim-{handle}", "title": "A claim", "tags": []}
            session.add(
                EmailItem(
                    account_id=account_id, stream="new_claims", data=facts, created_at=clock()
                )
            )
            session.commit()


def test_an_event_committed_after_a_later_one_still_reaches_email(
    db: Database, clock: FakeClock, settings: Settings, smtp: SmtpServer
) -> None:
    """On PostgreSQL an event's id is drawn at insert: a slow transaction's event can commit
    after a later id. Reading past it while it was uncommitted lost its email for good."""
    if not ON_POSTGRES:
        pytest.skip("SQLite's writers take turns: events commit in id order")
    subscriber(db, "ana", clock)
    mailer = mailer_for(settings, smtp.url)

    def published(slug: str) -> dict[str, Any]:
        return {"claim": {"slug": slug, "title": slug, "closes_at": None, "tags": ["video"]}}

    with db.writing() as slow:
        emit(slow, EventName.CLAIM_PUBLISHED, published("first"), at=clock())
        with db.writing() as quick:
            emit(quick, EventName.CLAIM_PUBLISHED, published("second"), at=clock())
            quick.commit()
        run_email(db.write_engine, clock, mailer)  # "first" is not committed yet
        slow.commit()
    run_email(db.write_engine, clock, mailer)
    bodies = [message.get_content() for message in smtp.mailbox.take()]
    assert len(bodies) == 2
    assert all(any(f"/claims/{slug}" in body for body in bodies) for slug in ("first", "second"))


def test_two_first_runs_at_once_make_one_cursor(db: Database, clock: FakeClock) -> None:
    """The email job's first run makes the outbox cursor's row; another worker's first run
    may make it between this one's read and its insert (PostgreSQL: SQLite's writers take
    turns). That was an IntegrityError out of the job."""
    if not ON_POSTGRES:
        pytest.skip("SQLite's writers take turns")
    other = Database(db.url)

    def the_other_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO email_cursor"):
            with other.writing() as session:
                session.add(EmailCursor(id=1, event_id=0))
                session.commit()

    event.listen(db.write_engine, "before_cursor_execute", the_other_first)
    try:
        with Session(db.write_engine) as session:
            assert collect_events(session, clock()) == 0
    finally:
        event.remove(db.write_engine, "before_cursor_execute", the_other_first)
        other.dispose()
    with db.reading() as session:
        assert session.exec(select(EmailCursor)).one().event_id == 0


def test_two_workers_at_once_send_every_email_exactly_once(
    db: Database, clock: FakeClock, settings: Settings, smtp: SmtpServer
) -> None:
    streamed = [f"s{n}" for n in range(12)]
    waiting_items(db, streamed, clock)
    confirming = [f"c{n}" for n in range(12)]
    for handle in confirming:
        queue_confirmation(db, handle=handle, now=clock())
    mailer = mailer_for(settings, smtp.url)
    start, failures = threading.Barrier(2), []

    def worker() -> None:
        mine = Database(settings.database_url)  # a process of its own would have its engines
        try:
            start.wait(timeout=30)
            for _ in range(3):
                run_email(mine.write_engine, clock, mailer)
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            mine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and not any(t.is_alive() for t in threads)
    every = {f"{h}@example.org": 1 for h in streamed + confirming}
    assert recipients(smtp) == every
    ids = [m["Message-ID"] for m in smtp.mailbox.messages]
    assert len(set(ids)) == len(ids)
    assert statuses(db) == {"sent": len(streamed) * 2 + len(confirming)}
