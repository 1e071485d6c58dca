"""Items into messages: one per item for `immediate` streams, one digest a local day.

A digest goes at `digest_hour` in the account's `time_zone`, at most once per local day
(claimed by a conditional UPDATE of `last_digest_on`), and never empty.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select, update

from forecasts.notify.email.addresses import queued
from forecasts.notify.email.models import EmailAddress, EmailItem

STREAM = "stream"


def compose_immediate(session: Session, now: datetime) -> int:
    """A message for each waiting item of an immediate stream; commits; returns how many.
    An item is tied to its message by a conditional UPDATE: of two workers that read the
    same item, the second makes no message (it would have sent the item twice)."""
    items = session.exec(
        select(EmailItem.id, EmailItem.account_id).where(
            col(EmailItem.message_id).is_(None), col(EmailItem.digest).is_(False)
        )
    ).all()
    made = 0
    for item_id, account_id in items:
        message = queued(account_id, STREAM, now)
        session.add(message)
        session.flush()
        tied = session.exec(
            update(EmailItem)
            .where(col(EmailItem.id) == item_id, col(EmailItem.message_id).is_(None))
            .values(message_id=message.id)
        )
        if tied.rowcount == 1:
            made += 1
        else:
            session.delete(message)
            session.flush()
    session.commit()
    return made


def local_day(row: EmailAddress, now: datetime) -> tuple[str, int]:
    """The account's local date and hour now."""
    local = now.astimezone(ZoneInfo(row.time_zone))
    return local.date().isoformat(), local.hour


def compose_digests(session: Session, now: datetime) -> int:
    """A digest for each account whose digest hour has come today and that has items
    waiting and no digest yet today; commits; returns how many."""
    waiting = session.exec(
        select(EmailAddress)
        .where(col(EmailAddress.confirmed_at).is_not(None))
        .where(
            col(EmailAddress.account_id).in_(
                select(EmailItem.account_id).where(
                    col(EmailItem.message_id).is_(None), col(EmailItem.digest).is_(True)
                )
            )
        )
    ).all()
    made = 0
    for row in waiting:
        today, hour = local_day(row, now)
        if hour < row.digest_hour or row.last_digest_on == today:
            continue
        claimed = session.exec(
            update(EmailAddress)
            .where(
                col(EmailAddress.account_id) == row.account_id,
                (col(EmailAddress.last_digest_on).is_(None))
                | (col(EmailAddress.last_digest_on) != today),
            )
            .values(last_digest_on=today)
        )
        if claimed.rowcount != 1:
            continue
        message = queued(row.account_id, STREAM, now)
        session.add(message)
        session.flush()
        session.exec(
            update(EmailItem)
            .where(
                col(EmailItem.account_id) == row.account_id,
                col(EmailItem.message_id).is_(None),
                col(EmailItem.digest).is_(True),
            )
            .values(message_id=message.id)
        )
        made += 1
    session.commit()
    return made
