"""The email tables: addresses with their settings, link tokens, items, messages, cursors."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from claims.columns import UTCDateTime


class EmailAddress(SQLModel, table=True):
    """An account's address (one each), whether it is confirmed, and what it gets."""

    __tablename__ = "email_addresses"

    account_id: int = Field(foreign_key="accounts.id", primary_key=True)
    address: str = Field(max_length=254)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # each stream's mode: off, digest or immediate (SPEC §9)
    closing_soon: str = Field(default="off", max_length=9)
    stale_forecasts: str = Field(default="off", max_length=9)
    scores: str = Field(default="off", max_length=9)
    new_claims: str = Field(default="off", max_length=9)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stale_after_days: int = 30
    digest_hour: int = 8
    time_zone: str = Field(default="UTC", max_length=64)
    # the local date (YYYY-MM-DD in time_zone) of the last digest: at most one a day
    last_digest_on: str | None = Field(default=None, max_length=10)


class EmailToken(SQLModel, table=True):
    """A link's token, stored only as its SHA-256 (set when the message is sent).

    `purpose` is confirm, reset or unsubscribe; `streams` (comma-separated) what an
    unsubscribe link turns off; `epoch` the account's session epoch when a reset link was
    asked for: a password change moves it on, which voids the link.
    """

    __tablename__ = "email_tokens"
    __table_args__ = (Index("ix_email_tokens_account_purpose", "account_id", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id")
    purpose: str = Field(max_length=12)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    address: str | None = Field(default=None, max_length=254)
    streams: str | None = Field(default=None, max_length=80)
    epoch: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailItem(SQLModel, table=True):
    """One thing a stream tells an account, waiting for its message (at once or in a digest)."""

    __tablename__ = "email_items"
    __table_args__ = (Index("ix_email_items_account_message", "account_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id")
    stream: str = Field(max_length=20)
    digest: bool = False
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, foreign_key="email_messages.id", index=True)


class EmailMessage(SQLModel, table=True):
    """One email to send: a confirmation, a reset link, or a stream's items.

    The text is written when it is sent (so a link's token exists only in the email);
    a worker claims a due message by a conditional UPDATE of `lease` and `leased_until`.
    """

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    purpose: str = Field(max_length=12)  # confirm, reset or stream
    token_id: int | None = Field(default=None, foreign_key="email_tokens.id")
    status: str = Field(default="pending", max_length=10)  # pending, sent, dropped, failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease: str | None = Field(default=None, max_length=32)
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class StaleNotice(SQLModel, table=True):
    """A standing forecast already reported stale: each standing forecast once."""

    __tablename__ = "email_stale_notices"

    account_id: int = Field(foreign_key="accounts.id", primary_key=True)
    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    ledger_seq: int = Field(primary_key=True)


class EmailCursor(SQLModel, table=True):
    """The last outbox event turned into email items (moved by a conditional UPDATE)."""

    __tablename__ = "email_cursor"

    id: int = Field(default=1, primary_key=True)
    event_id: int = 0
