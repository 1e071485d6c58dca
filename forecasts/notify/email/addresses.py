"""An account's address: set (with a confirmation email), confirm, settings, unsubscribe."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, delete, func, select

from claims.errors import Invalid, NotFound, TooMany
from forecasts.notify.email.links import CONFIRM, UNSUBSCRIBE, live_token
from forecasts.notify.email.models import EmailAddress, EmailItem, EmailMessage, EmailToken

STREAMS = ("closing_soon", "stale_forecasts", "scores", "new_claims")
MODES = ("off", "digest", "immediate")
CONFIRM_FOR = timedelta(hours=24)
CONFIRMATIONS_A_DAY = 5
# one @, a local part of RFC 5322's atoms and dots in ASCII (a relay without SMTPUTF8 would
# refuse any other at every attempt), a domain with a dot; nothing after it, not even "\n"
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def address_problem(address: str) -> str | None:
    """Why an address is refused, or None."""
    if len(address) > 254 or not _ADDRESS.fullmatch(address):
        return "must be an email address like ana@example.org"
    return None


def zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as Europe/Lisbon or UTC"
    return None


@dataclass(frozen=True)
class EmailSettings:
    """What GET /me/email shows."""

    address: str
    confirmed: bool
    streams: dict[str, str]
    tags: list[str]
    stale_after_days: int
    digest_hour: int
    time_zone: str


def settings_of(row: EmailAddress) -> EmailSettings:
    return EmailSettings(
        address=row.address,
        confirmed=row.confirmed_at is not None,
        streams={name: getattr(row, name) for name in STREAMS},
        tags=list(row.tags),
        stale_after_days=row.stale_after_days,
        digest_hour=row.digest_hour,
        time_zone=row.time_zone,
    )


def address_of(session: Session, account_id: int) -> EmailAddress:
    row = session.get(EmailAddress, account_id)
    if row is None:
        raise NotFound("this account has no email address")
    return row


def set_address(session: Session, account_id: int, address: str, *, now: datetime) -> EmailAddress:
    """Give the account this address (unconfirmed) and queue its confirmation; commits.

    At most `CONFIRMATIONS_A_DAY` confirmations in 24 hours (TooMany past it). The same
    address again, already confirmed, stays confirmed and sends nothing.
    """
    problem = address_problem(address)
    if problem is not None:
        raise Invalid("address", problem)
    row = session.get(EmailAddress, account_id, with_for_update=True)
    if row is not None and row.address == address and row.confirmed_at is not None:
        return row
    sent = session.exec(
        select(func.count())
        .select_from(EmailToken)
        .where(
            EmailToken.account_id == account_id,
            EmailToken.purpose == CONFIRM,
            col(EmailToken.created_at) > now - timedelta(days=1),
        )
    ).one()
    if sent >= CONFIRMATIONS_A_DAY:
        raise TooMany(f"at most {CONFIRMATIONS_A_DAY} confirmation emails a day")
    if row is None:
        row = EmailAddress(account_id=account_id, address=address, created_at=now)
    row.address, row.confirmed_at = address, None
    session.add(row)
    token = EmailToken(
        account_id=account_id,
        purpose=CONFIRM,
        address=address,
        created_at=now,
        expires_at=now + CONFIRM_FOR,
    )
    session.add(token)
    session.flush()
    session.add(queued(account_id, CONFIRM, now, token_id=token.id))
    session.commit()
    return row


def queued(account_id: int, purpose: str, now: datetime, **fields: Any) -> EmailMessage:
    """A message due now."""
    return EmailMessage(
        account_id=account_id, purpose=purpose, created_at=now, next_attempt_at=now, **fields
    )


def confirmable(session: Session, text: str, now: datetime) -> str:
    """The address a live confirmation link would confirm (for the page with its button)."""
    token = live_token(session, text, CONFIRM, now)
    row = session.get(EmailAddress, token.account_id)
    if row is None or row.address != token.address:
        raise NotFound("this link is for an address the account no longer has")
    return row.address


def confirm(session: Session, text: str, *, now: datetime) -> str:
    """Confirm the address the link was sent to; the link works once; commits."""
    address = confirmable(session, text, now)
    token = live_token(session, text, CONFIRM, now)
    row = address_of(session, token.account_id)
    token.used_at = now
    row.confirmed_at = now
    session.add_all([token, row])
    session.commit()
    return address


def update_settings(session: Session, account_id: int, changes: dict[str, Any]) -> EmailAddress:
    """Apply the PATCH fields (already validated: streams, tags, stale_after_days,
    digest_hour, time_zone); commits."""
    row = address_of(session, account_id)
    for name, mode in (changes.pop("streams", None) or {}).items():
        setattr(row, name, mode)
    if "time_zone" in changes and (problem := zone_problem(changes["time_zone"])):
        raise Invalid("time_zone", problem)
    for name, value in changes.items():
        setattr(row, name, value)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def delete_address(session: Session, account_id: int) -> None:
    """Forget the address and the items waiting for it; nothing more is sent to it; commits."""
    row = address_of(session, account_id)
    session.exec(
        delete(EmailItem).where(
            col(EmailItem.account_id) == account_id, col(EmailItem.message_id).is_(None)
        )
    )
    session.delete(row)
    session.commit()


def unsubscribe(session: Session, text: str, *, now: datetime) -> list[str]:
    """Turn off the streams the link names (works any number of times); commits."""
    token = live_token(session, text, UNSUBSCRIBE, now)
    streams = [s for s in (token.streams or "").split(",") if s in STREAMS]
    row = session.get(EmailAddress, token.account_id)
    if row is not None:
        for name in streams:
            setattr(row, name, "off")
        session.add(row)
        session.commit()
    return streams
