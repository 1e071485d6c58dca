"""The outbox and the webhooks it feeds: events, webhooks, deliveries and their attempts."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from claims.columns import UTCDateTime


class Event(SQLModel, table=True):
    """One notification, written in the transaction of the change it reports (the outbox).

    `account_id` is set for events meant for one account only (`forecast.scored`); `data` is
    the event's JSON object as SPEC §9 shapes it, fixed when it is written.
    """

    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    claim_id: int | None = Field(default=None, foreign_key="claims.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("account_id", "url"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # kept in the clear: every attempt signs with it (it is shown to its owner once)
    secret: str = Field(max_length=80)
    active: bool = True
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One event for one webhook; `id` is the UUID receivers deduplicate on.

    A worker claims a due delivery by setting `lease` and `leased_until` in one conditional
    UPDATE; a lease left by a killed worker runs out and the delivery is tried again.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_webhook", "webhook_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    webhook_id: int = Field(foreign_key="webhooks.id")
    event_id: int = Field(foreign_key="events.id", index=True)
    event: str = Field(max_length=40)
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # a redelivery is one attempt: its failure ends the delivery at once
    single_attempt: bool = False
    lease: str | None = Field(default=None, max_length=32)
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=36)
    at: datetime = Field(sa_type=UTCDateTime)
    response_status: int | None = None
    duration_ms: int
    error: str | None = Field(default=None, sa_type=Text)


class Redelivery(SQLModel, table=True):
    """A redelivery asked for, counted for the hourly limit per account."""

    __tablename__ = "redeliveries"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)


class ClosingNotice(SQLModel, table=True):
    """`claim.closing_soon` sent for this claim and this `closes_at` (inserted once: the claim)."""

    __tablename__ = "closing_notices"

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    closes_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)


class CrowdBaseline(SQLModel, table=True):
    """The crowd at a claim's last `crowd.moved` (or its first crowd): what moves are from."""

    __tablename__ = "crowd_baselines"

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    # a probability for binary claims; JSON so that other kinds can keep theirs
    crowd: Any = Field(sa_column=Column(JSON, nullable=False))
    noticed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# The tables for core SQL (the delivery worker's claim and record, the notices' claims).
events_t = Event.__table__  # type: ignore[attr-defined]
webhooks_t = Webhook.__table__  # type: ignore[attr-defined]
deliveries_t = Delivery.__table__  # type: ignore[attr-defined]
attempts_t = DeliveryAttempt.__table__  # type: ignore[attr-defined]
closing_notices_t = ClosingNotice.__table__  # type: ignore[attr-defined]
crowd_baselines_t = CrowdBaseline.__table__  # type: ignore[attr-defined]
