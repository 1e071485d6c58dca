"""What is claimed: claims, their tags and the kept versions of their criteria."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from claims.columns import UTCDateTime

# Stored states. `published` becomes upcoming/open/closed by the clock when read (see lifecycle).
DRAFT = "draft"
PUBLISHED = "published"
CLOSED = "closed"
PROPOSED = "proposed"
RESOLVED = "resolved"
ANNULLED = "annulled"
AMBIGUOUS = "ambiguous"
SETTLED_STATES = frozenset({RESOLVED, ANNULLED, AMBIGUOUS})


class Claim(SQLModel, table=True):
    __tablename__ = "claims"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120, unique=True, index=True)
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_type=Text)
    resolution_criteria: str = Field(sa_type=Text)
    fine_print: str = Field(default="", sa_type=Text)
    rules: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    source: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: str = Field(default=PUBLISHED, max_length=20, index=True)
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime, index=True)
    resolves_at: datetime = Field(sa_type=UTCDateTime)
    # The actual close Tc when it came before closes_at (early yes, editor's closed_at).
    closed_early_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set once the close (with the reveal of commitments) is recorded in the ledger.
    close_recorded_seq: int | None = Field(default=None)
    outcome: str | None = Field(default=None, max_length=10)
    version: int = Field(default=1)
    created_by: int | None = Field(default=None, foreign_key="accounts.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    published_seq: int | None = Field(default=None)


class ClaimTag(SQLModel, table=True):
    __tablename__ = "claim_tags"
    __table_args__ = (Index("ix_claim_tags_tag", "tag"),)

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    tag: str = Field(max_length=40, primary_key=True)


class ClaimVersion(SQLModel, table=True):
    """A superseded version of a claim's criteria and rules, kept when they are amended."""

    __tablename__ = "claim_versions"
    __table_args__ = (UniqueConstraint("claim_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claims.id", index=True)
    version: int
    resolution_criteria: str = Field(sa_type=Text)
    rules: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    superseded_at: datetime = Field(sa_type=UTCDateTime)
    ledger_seq: int | None = Field(default=None)
