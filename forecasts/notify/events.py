"""The outbox (SPEC §9): `emit` writes an event in the caller's transaction and fans it out.

An event goes to the webhooks that are active and subscribed when it is written: one
`deliveries` row each, due at once. Other consumers (email) read `events` by id.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from forecasts.notify.models import Delivery, Event, Webhook


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
    event = Event(name=name, created_at=at, claim_id=claim_id, account_id=account_id, data=data)
    session.add(event)
    session.flush()
    assert event.id is not None
    query = select(Webhook.id, Webhook.events).where(col(Webhook.active).is_(True))
    if account_id is not None:
        query = query.where(Webhook.account_id == account_id)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": webhook_id,
            "event_id": event.id,
            "event": name,
            "created_at": at,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "single_attempt": False,
        }
        for webhook_id, events in session.exec(query)
        if name in events
    ]
    if rows:
        session.execute(insert(Delivery), rows)
    return event.id
