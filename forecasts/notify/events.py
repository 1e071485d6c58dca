"""The outbox (SPEC §9): `emit` writes an event in the caller's transaction and fans it out.

An event goes to the webhooks that are active and subscribed when it is written: one
`deliveries` row each, due at once. Other consumers (email) read `events` by id, up to
`settled_event_id`: on PostgreSQL ids are drawn at insert and committed in any order, so a
reader that passed id n + 1 while n was uncommitted would never see n.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from forecasts.notify.models import Delivery, Webhook, events_t

# PostgreSQL advisory lock: each transaction that writes events holds it shared until it
# ends; `settled_event_id` takes it exclusively for an instant, when no writer is under way
WRITING_EVENTS = 0x466C4F42


class EventName(StrEnum):
    """The contract names of SPEC §9."""

    CLAIM_PUBLISHED = "claim.published"
    CLAIM_CLOSING_SOON = "claim.closing_soon"
    CLAIM_CLOSED = "claim.closed"
    CLAIM_REOPENED = "claim.reopened"
    CLAIM_PROPOSED = "claim.proposed"
    CLAIM_RESOLVED = "claim.resolved"
    CLAIM_ANNULLED = "claim.annulled"
    CROWD_MOVED = "crowd.moved"
    FORECAST_SCORED = "forecast.scored"


def emit(
    session: Session,
    name: EventName,
    data: dict[str, Any],
    *,
    at: datetime,
    claim_id: int | None = None,
    account_id: int | None = None,
) -> int:
    """Add the event and its deliveries to the session's transaction; returns the event id."""
    [event_id] = emit_many(session, name, [(account_id, data)], at=at, claim_id=claim_id)
    return event_id


def emit_many(
    session: Session,
    name: EventName,
    events: Sequence[tuple[int | None, dict[str, Any]]],
    *,
    at: datetime,
    claim_id: int | None = None,
) -> list[int]:
    """`emit` for many events of one kind at once, each `(account_id, data)`: one insert of
    the events and one of their deliveries, whatever their number (a resolution's
    `forecast.scored` to each of a thousand forecasters costs two statements, not 2,000)."""
    if not events:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": WRITING_EVENTS})
    rows = [
        {"name": name, "created_at": at, "claim_id": claim_id, "account_id": account, "data": data}
        for account, data in events
    ]
    ids = _insert_events(session, rows)
    query = select(Webhook.id, Webhook.account_id, Webhook.events).where(
        col(Webhook.active).is_(True)
    )
    accounts = {account for account, _data in events}
    if None not in accounts:
        query = query.where(col(Webhook.account_id).in_(accounts))
    subscribed: dict[int | None, list[int]] = {}
    for webhook_id, owner, names in session.exec(query):
        if webhook_id is not None and name in names:
            subscribed.setdefault(owner, []).append(webhook_id)
    everyone = [hook for hooks in subscribed.values() for hook in hooks]
    deliveries = [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": webhook_id,
            "event_id": event_id,
            "event": name,
            "created_at": at,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "single_attempt": False,
        }
        for event_id, (account, _data) in zip(ids, events, strict=True)
        for webhook_id in (everyone if account is None else subscribed.get(account, []))
    ]
    if deliveries:
        session.execute(insert(Delivery), deliveries)
    return ids


def settled_event_id(session: Session) -> int | None:
    """The highest event id below which no event can still appear (0: none yet); None on
    PostgreSQL while a transaction writing events is under way (try again later). Ends the
    session's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        free = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WRITING_EVENTS}
        ).scalar_one()
        if not free:
            session.rollback()
            return None
    # on SQLite writers take turns (BEGIN IMMEDIATE): what is committed is all there is
    highest = session.execute(select(func.max(events_t.c.id))).scalar_one()
    session.commit()  # lets the writers waiting for the lock go on
    return int(highest or 0)


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the events; their ids in order. Many rows (one per account, as for
    `forecast.scored`) go in as one executemany and their ids are read back by account: a
    RETURNING in parameter order makes SQLAlchemy send SQLite one statement per row."""
    if len(rows) == 1:
        return [int(session.execute(insert(events_t).returning(events_t.c.id), rows).scalar_one())]
    accounts = [row["account_id"] for row in rows]
    assert None not in accounts and len(set(accounts)) == len(accounts), "one event per account"
    session.execute(insert(events_t), rows)
    first = rows[0]
    e = events_t.c
    found = session.execute(
        select(e.account_id, e.id).where(
            e.name == first["name"],
            e.claim_id == first["claim_id"],
            e.created_at == first["created_at"],
        )
    )  # the claim's events of this moment: ours, unless several processes settle it at once
    by_account = {int(account): int(event_id) for account, event_id in found if account}
    return [by_account[account] for account in accounts]
