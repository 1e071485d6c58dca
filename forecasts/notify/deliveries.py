"""A webhook's delivery log (kept 30 days) and redelivery on request (SPEC §9)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, func, select

from claims.errors import Conflict, NotFound, TooMany
from forecasts.notify.models import Delivery, DeliveryAttempt, Redelivery
from forecasts.notify.webhooks import get_webhook, lock_account

KEEP = timedelta(days=30)
REDELIVERIES_PER_HOUR = 60
STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: Delivery
    attempts: list[DeliveryAttempt]


def list_deliveries(
    session: Session,
    account_id: int,
    webhook_id: int,
    *,
    status: str | None,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[list[LoggedDelivery], bool]:
    """The webhook's deliveries of the last 30 days, newest first, with their attempts;
    and whether more follow."""
    get_webhook(session, account_id, webhook_id)
    query = select(Delivery).where(
        Delivery.webhook_id == webhook_id, Delivery.created_at >= now - KEEP
    )
    if status is not None:
        query = query.where(Delivery.status == status)
    query = query.order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
    rows = list(session.exec(query.offset(offset).limit(limit + 1)))
    page = rows[:limit]
    attempts: dict[str, list[DeliveryAttempt]] = {row.id: [] for row in page}
    if page:
        found = session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.delivery_id).in_(list(attempts)))
            .order_by(col(DeliveryAttempt.id))
        )
        for attempt in found:
            attempts[attempt.delivery_id].append(attempt)
    return [LoggedDelivery(row, attempts[row.id]) for row in page], len(rows) > limit


def redeliver(
    session: Session, account_id: int, webhook_id: int, delivery_id: str, *, now: datetime
) -> Delivery:
    """One fresh attempt now, with the same id and body; commits.

    A 409 while an attempt is pending or the webhook is disabled; 60 an hour per account.
    """
    webhook = get_webhook(session, account_id, webhook_id)
    lock_account(session, account_id)  # two at once must not both count 59 (or both pass)
    delivery = session.get(Delivery, delivery_id)
    # one past the log's 30 days is gone, whether or not the prune job has deleted it yet
    if delivery is None or delivery.webhook_id != webhook_id or delivery.created_at < now - KEEP:
        raise NotFound(f"no delivery {delivery_id}")
    if not webhook.active:
        raise Conflict("the webhook is disabled: enable it first")
    if delivery.status == "pending":
        raise Conflict("an attempt of this delivery is pending")
    asked = session.exec(
        select(func.count()).where(
            Redelivery.account_id == account_id, Redelivery.at > now - timedelta(hours=1)
        )
    ).one()
    if asked >= REDELIVERIES_PER_HOUR:
        raise TooMany(f"at most {REDELIVERIES_PER_HOUR} redeliveries an hour")
    delivery.status, delivery.next_attempt_at, delivery.single_attempt = "pending", now, True
    session.add(delivery)
    session.add(Redelivery(account_id=account_id, at=now))
    session.commit()
    session.refresh(delivery)
    return delivery


def prune_deliveries(engine: Engine, now: datetime) -> int:
    """Forget finished deliveries older than 30 days and old redelivery requests."""
    with Session(engine) as session:
        old = select(Delivery.id).where(
            Delivery.created_at < now - KEEP, col(Delivery.status) != "pending"
        )
        session.exec(delete(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(old)))
        gone = session.exec(
            delete(Delivery).where(
                col(Delivery.created_at) < now - KEEP, col(Delivery.status) != "pending"
            )
        ).rowcount
        session.exec(delete(Redelivery).where(col(Redelivery.at) < now - timedelta(hours=1)))
        session.commit()
        return int(gone)
