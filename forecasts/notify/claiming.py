"""Which worker sends what: due deliveries claimed by a conditional UPDATE, results recorded.

A worker takes due deliveries by writing its lease token on rows that carry no live lease,
all in one statement, so two workers never hold the same attempt; the claim itself is
serialised (SQLite's write lock, an advisory lock on PostgreSQL) so that the count of
attempts in flight per webhook stays at most `per_webhook` across workers. A worker killed
mid-attempt leaves its lease to run out; the delivery is then tried again with the same id.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, text, update

from forecasts.notify.models import attempts_t, deliveries_t, events_t, webhooks_t
from forecasts.notify.sending import Outcome

MAX_ATTEMPTS = 10
FAILING_LIMIT = timedelta(hours=72)
_CLAIM_LOCK = 0x466C5748  # PostgreSQL advisory lock key of the claim step


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what its attempt needs."""

    delivery_id: str
    webhook_id: int
    url: str
    secret: str
    event: str
    created_at: datetime
    data: Any
    attempts: int
    single_attempt: bool


@dataclass(frozen=True)
class Result:
    job: Job
    outcome: Outcome
    started_at: datetime
    ended_at: datetime


def retry_delay(failed_attempts: int) -> timedelta:
    """After failed attempt n (1…9) the next is due 2^(n-1) minutes later (SPEC §9); email
    retries on the same schedule."""
    return timedelta(minutes=2 ** (failed_attempts - 1))


def _unleased(now: datetime) -> Any:
    d = deliveries_t.c
    return or_(d.leased_until.is_(None), d.leased_until <= now)


def any_due(engine: Engine, now: datetime) -> bool:
    """Whether a delivery may be due: a read, so that an idle worker never takes SQLite's
    write lock from the submissions."""
    d = deliveries_t.c
    query = select(d.id).where(d.status == "pending", d.next_attempt_at <= now).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def claim_due(
    engine: Engine, now: datetime, token: str, *, limit: int, per_webhook: int, lease: timedelta
) -> list[Job]:
    """Lease up to `limit` due deliveries to `token`, at most `per_webhook` in flight each."""
    d, w, e = deliveries_t.c, webhooks_t.c, events_t.c
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
        in_flight = conn.execute(
            select(d.webhook_id, func.count())
            .where(d.status == "pending", d.leased_until > now)
            .group_by(d.webhook_id)
        )
        busy = {int(webhook_id): int(count) for webhook_id, count in in_flight}
        rank = func.row_number().over(partition_by=d.webhook_id, order_by=(d.next_attempt_at, d.id))
        due = (
            select(d.id, d.webhook_id, rank.label("rank"))
            .join(webhooks_t, w.id == d.webhook_id)
            .where(d.status == "pending", d.next_attempt_at <= now, _unleased(now), w.active)
            .subquery()
        )
        candidates = conn.execute(
            select(due.c.id, due.c.webhook_id, due.c.rank)
            .where(due.c.rank <= per_webhook)
            .order_by(due.c.rank)
            .limit(limit + len(busy) * per_webhook)
        ).all()
        picked = [
            row.id for row in candidates if row.rank <= per_webhook - busy.get(row.webhook_id, 0)
        ][:limit]
        if not picked:
            return []
        conn.execute(
            update(deliveries_t)
            .where(d.id.in_(picked), d.status == "pending", _unleased(now))
            .values(lease=token, leased_until=now + lease)
        )
        rows = conn.execute(
            select(
                d.id,
                d.webhook_id,
                w.url,
                w.secret,
                d.event,
                e.created_at,
                e.data,
                d.attempts,
                d.single_attempt,
            )
            .join(webhooks_t, w.id == d.webhook_id)
            .join(events_t, e.id == d.event_id)
            .where(d.id.in_(picked), d.lease == token)
        ).all()
    return [Job(*row) for row in rows]


def record_results(engine: Engine, results: Sequence[Result], token: str) -> None:
    """Write each attempt and move its delivery and webhook on, in one transaction."""
    with engine.begin() as conn:
        for result in sorted(results, key=lambda r: r.started_at):
            if _settle(conn, result, token):
                _track_health(conn, result)


_SETTLE = (
    update(deliveries_t)
    .where(deliveries_t.c.id == bindparam("d_id"), deliveries_t.c.lease == bindparam("token"))
    .values(
        status=bindparam("status"),
        attempts=deliveries_t.c.attempts + 1,
        next_attempt_at=bindparam("next_at"),
        single_attempt=False,
        lease=None,
        leased_until=None,
    )
)


def _settle(conn: Connection, result: Result, token: str) -> bool:
    """Record the attempt unless the lease was lost meanwhile; returns whether it was ours."""
    job, outcome = result.job, result.outcome
    tried = job.attempts + 1
    next_at: datetime | None = None
    if outcome.ok:
        status = "delivered"
    elif job.single_attempt or tried >= MAX_ATTEMPTS:
        status = "failed"
    else:
        status, next_at = "pending", result.ended_at + retry_delay(tried)
    values = {"d_id": job.delivery_id, "token": token, "status": status, "next_at": next_at}
    if conn.execute(_SETTLE, values).rowcount != 1:
        return False
    conn.execute(
        insert(attempts_t).values(
            delivery_id=job.delivery_id,
            at=result.started_at,
            response_status=outcome.status,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
    )
    return True


def _track_health(conn: Connection, result: Result) -> None:
    """A success ends failing; a failure after 72 h of failing disables the webhook."""
    w = webhooks_t.c
    webhook_id = result.job.webhook_id
    if result.outcome.ok:
        conn.execute(update(webhooks_t).where(w.id == webhook_id).values(failing_since=None))
        return
    conn.execute(
        update(webhooks_t)
        .where(w.id == webhook_id, w.failing_since.is_(None))
        .values(failing_since=result.started_at)
    )
    disabled = conn.execute(
        update(webhooks_t)
        .where(
            w.id == webhook_id,
            w.active,
            w.failing_since <= result.ended_at - FAILING_LIMIT,
        )
        .values(active=False, disabled_at=result.ended_at, disabled_reason="failing")
    ).rowcount
    if disabled:  # what was waiting is not sent later: missed events are not replayed
        d = deliveries_t.c
        conn.execute(
            update(deliveries_t)
            .where(and_(d.webhook_id == webhook_id, d.status == "pending", d.lease.is_(None)))
            .values(status="failed", next_attempt_at=None)
        )
