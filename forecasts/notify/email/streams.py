"""The streams of SPEC §9 turned into email items: from the outbox and from standings.

`closing_soon`, `scores` and `new_claims` read outbox events after the cursor, up to the
last id no uncommitted event lies below; the cursor moves by a conditional UPDATE, so of
two workers only one turns a batch into items.
`stale_forecasts` reads standings: each standing forecast is reported once (StaleNotice).
An item carries the recipient's own standing forecast at most, nobody else's.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from claims.clock import stamp
from claims.models import Claim
from claims.states import ClaimState
from forecasts.ledger.models import Standing
from forecasts.notify.email.models import EmailAddress, EmailCursor, EmailItem, StaleNotice
from forecasts.notify.email.own import own_forecast
from forecasts.notify.events import EventName, settled_event_id
from forecasts.notify.models import Event

BATCH = 500
_STREAM_OF = {
    EventName.CLAIM_PUBLISHED: "new_claims",
    EventName.CLAIM_CLOSING_SOON: "closing_soon",
    EventName.FORECAST_SCORED: "scores",
}


def _subscribed(stream: str) -> tuple[Any, Any]:
    """The conditions of an address that gets `stream`: confirmed, and the stream not off."""
    return col(EmailAddress.confirmed_at).is_not(None), col(getattr(EmailAddress, stream)) != "off"


def _subscribers(session: Session, stream: str) -> list[EmailAddress]:
    return list(session.exec(select(EmailAddress).where(*_subscribed(stream))))


def _facts_of(claim: Claim) -> dict[str, Any]:
    """What an item says of its claim, read from the claim itself."""
    return {"slug": claim.slug, "title": claim.title, "closes_at": stamp(claim.closes_at)}


def _claim_facts(data: dict[str, Any]) -> dict[str, Any]:
    claim = data.get("claim")
    if not isinstance(claim, dict):  # forecast.scored and crowd.moved name it by slug
        claim = {}
    return {
        "slug": claim.get("slug"),
        "title": claim.get("title"),
        "closes_at": claim.get("closes_at"),
        "tags": claim.get("tags") or [],
    }


def _items_for(session: Session, event: Event) -> list[tuple[EmailAddress, dict[str, Any]]]:
    """Who this event reaches by email, and what their item says."""
    facts = _claim_facts(event.data)
    if event.name == EventName.CLAIM_PUBLISHED:
        tags = set(facts["tags"])
        return [(r, facts) for r in _subscribers(session, "new_claims") if tags & set(r.tags)]
    if event.name == EventName.CLAIM_CLOSING_SOON:
        claim = session.get(Claim, event.claim_id)
        if claim is None:
            return []
        mine = {
            account_id: _mine(claim, probability, distribution)
            for account_id, probability, distribution in session.exec(
                select(Standing.account_id, Standing.probability, Standing.distribution).where(
                    Standing.claim_id == event.claim_id, _standing()
                )
            )
        }
        return [
            (r, {**facts, **mine[r.account_id]})
            for r in _subscribers(session, "closing_soon")
            if r.account_id in mine
        ]
    if event.name == EventName.FORECAST_SCORED and event.account_id is not None:
        row = session.get(EmailAddress, event.account_id)
        claim = session.get(Claim, event.claim_id)
        if row is None or row.confirmed_at is None or row.scores == "off" or claim is None:
            return []
        facts = {**_facts_of(claim), "tags": []}  # the event names its claim by slug
        score = event.data.get("score")
        return [(row, {**facts, "outcome": event.data.get("outcome"), "score": score})]
    return []


def _standing() -> Any:
    """A forecast stands: a probability (binary) or a distribution (other kinds, SPEC §7)."""
    return col(Standing.probability).is_not(None) | col(Standing.distribution).is_not(None)


def _mine(claim: Claim, probability: float | None, distribution: bytes | None) -> dict[str, Any]:
    """The recipient's own standing in an item: its probability (binary) and its words."""
    return {"probability": probability, "forecast": own_forecast(claim, probability, distribution)}


def collect_events(session: Session, now: datetime) -> int:
    """Turn the outbox events after the cursor into items; commits; returns how many."""
    cursor = session.get(EmailCursor, 1)
    if cursor is None:
        session.add(EmailCursor(id=1, event_id=0))
        try:
            session.commit()
        except IntegrityError:  # another worker's first run made it at the same moment
            session.rollback()
        cursor = session.get(EmailCursor, 1)
        assert cursor is not None
    start = cursor.event_id
    settled = settled_event_id(session)
    if settled is None or settled <= start:
        return 0
    events = session.exec(
        select(Event)
        .where(col(Event.id) > start, col(Event.id) <= settled)
        .order_by(col(Event.id))
        .limit(BATCH)
    ).all()
    if not events:
        return 0
    moved = session.exec(
        update(EmailCursor)
        .where(col(EmailCursor.id) == 1, col(EmailCursor.event_id) == start)
        .values(event_id=events[-1].id)
    )
    if moved.rowcount != 1:  # another worker took this batch
        session.rollback()
        return 0
    made = 0
    for event in events:
        stream = _STREAM_OF.get(EventName(event.name)) if event.name in _STREAM_OF else None
        if stream is None:
            continue
        for row, data in _items_for(session, event):
            session.add(_item(row, stream, data, now))
            made += 1
    session.commit()
    return made


def _item(row: EmailAddress, stream: str, data: dict[str, Any], now: datetime) -> EmailItem:
    digest = getattr(row, stream) == "digest"
    return EmailItem(
        account_id=row.account_id, stream=stream, digest=digest, data=data, created_at=now
    )


def collect_stale(session: Session, now: datetime) -> int:
    """An item for each standing forecast on an open claim older than its owner's
    `stale_after_days`, once per standing forecast; commits; returns how many.

    One read per `stale_after_days` value in use (a handful), each with its own cut-off,
    so standings that are not yet stale for their owners never fill a batch and keep
    stale ones of other owners from being read."""
    days_in_use = session.exec(
        select(EmailAddress.stale_after_days).where(*_subscribed("stale_forecasts")).distinct()
    ).all()
    made = 0
    for days in sorted(days_in_use):
        for standing, claim, row in _stale(session, now, days, BATCH - made):
            session.add(
                StaleNotice(
                    account_id=standing.account_id,
                    claim_id=standing.claim_id,
                    ledger_seq=standing.ledger_seq,
                )
            )
            facts = {
                **_facts_of(claim),
                **_mine(claim, standing.probability, standing.distribution),
                "forecast_at": stamp(standing.at),
            }
            session.add(_item(row, "stale_forecasts", facts, now))
            made += 1
        if made >= BATCH:
            break
    try:
        session.commit()
    except IntegrityError:  # another worker reported them first
        session.rollback()
        return 0
    return made


def _stale(
    session: Session, now: datetime, days: int, limit: int
) -> list[tuple[Standing, Claim, EmailAddress]]:
    """Unreported standings at least `days` old of owners whose setting is `days`."""
    return list(
        session.exec(
            select(Standing, Claim, EmailAddress)
            .join(Claim, col(Claim.id) == Standing.claim_id)
            .join(EmailAddress, col(EmailAddress.account_id) == Standing.account_id)
            .outerjoin(
                StaleNotice,
                (col(StaleNotice.account_id) == Standing.account_id)
                & (col(StaleNotice.claim_id) == Standing.claim_id)
                & (col(StaleNotice.ledger_seq) == Standing.ledger_seq),
            )
            .where(
                col(StaleNotice.ledger_seq).is_(None),
                _standing(),
                EmailAddress.stale_after_days == days,
                col(Standing.at) <= now - timedelta(days=days),
                *_subscribed("stale_forecasts"),
                Claim.state == ClaimState.PUBLISHED,
                col(Claim.opens_at) <= now,
                col(Claim.closes_at) > now,
                col(Claim.closed_early_at).is_(None),
            )
            .limit(limit)
        ).all()
    )
