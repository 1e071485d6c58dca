"""What is claimed: claims, their tags and the kept versions of their criteria."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from claims.columns import UTCDateTime
from claims.states import LABEL_MAX, ClaimKind, ClaimState, ProposalState


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
    # The slug of the claimant the source cites, when it names one that exists (SPEC §8); a
    # free-text claimant from before claimants leaves this None: kept, never counted.
    claimant: str | None = Field(default=None, max_length=120, index=True)
    state: str = Field(default=ClaimState.PUBLISHED, max_length=20, index=True)
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime, index=True)
    resolves_at: datetime = Field(sa_type=UTCDateTime)
    # The actual close Tc when it came before closes_at (early yes, editor's closed_at).
    closed_early_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set once the close (with the reveal of commitments) is recorded in the ledger.
    close_recorded_seq: int | None = Field(default=None)
    # yes/no/annulled/ambiguous, or a multiple-choice claim's label (SPEC §7)
    outcome: str | None = Field(default=None, max_length=LABEL_MAX)
    # A resolved numeric claim's outcome, or a date claim's as Unix seconds (`outcome` is
    # then None; "annulled"/"ambiguous" stay in `outcome` for every kind).
    outcome_value: float | None = None
    kind: str = Field(default=ClaimKind.BINARY, max_length=20)  # a ClaimKind
    options: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    range_min: float | None = None  # dates as Unix seconds
    range_max: float | None = None
    open_lower_bound: bool = True
    open_upper_bound: bool = True
    log_scale: bool = False
    unit: str = Field(default="", max_length=40)
    version: int = Field(default=1)
    created_by: int | None = Field(default=None, foreign_key="accounts.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    published_seq: int | None = Field(default=None)


class Claimant(SQLModel, table=True):
    """Whoever made claims in public (SPEC §8); never deleted, the slug fixed at creation."""

    __tablename__ = "claimants"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120, unique=True, index=True)
    name: str = Field(max_length=300)
    kind: str = Field(max_length=20)
    url: str | None = Field(default=None, sa_type=Text)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    added_seq: int | None = Field(default=None)


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


class RuleRun(SQLModel, table=True):
    """Polling state of a claim's rules: when to run next, failures so far, who holds it."""

    __tablename__ = "rule_runs"

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    next_run_at: datetime = Field(sa_type=UTCDateTime, index=True)
    failures: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    # What the rules said last time: yes, no, conflict or none.
    last_outcome: str | None = Field(default=None, max_length=LABEL_MAX)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A worker holds the claim until then (set by a conditional update, so only one does).
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Proposal(SQLModel, table=True):
    """An automatic outcome in (or past) its challenge window."""

    __tablename__ = "proposals"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claims.id", index=True)
    outcome: str = Field(max_length=LABEL_MAX)  # as Claim.outcome
    outcome_value: float | None = None
    # proposed, finalised, rejected, disputed or overridden
    state: str = Field(default=ProposalState.PROPOSED, max_length=12, index=True)
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    closes_early: bool = False
    tc: datetime = Field(sa_type=UTCDateTime)
    challenge_ends_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ledger_seq: int | None = Field(default=None)
    decided_by: int | None = Field(default=None, foreign_key="accounts.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_type=Text)


class EvidenceSnapshot(SQLModel, table=True):
    """One fetch of one rule's URL, kept as evidence: what came back and what it meant."""

    __tablename__ = "evidence_snapshots"
    __table_args__ = (Index("ix_evidence_snapshots_claim_id_id", "claim_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claims.id")
    rule_index: int
    url: str = Field(sa_type=Text)
    final_url: str = Field(sa_type=Text)
    fetched_at: datetime = Field(sa_type=UTCDateTime)
    status: int | None = None
    content_type: str | None = Field(default=None, max_length=200)
    sha256: str = Field(max_length=64)  # of the whole (capped) body, before compression
    body_size: int = 0
    # zlib-compressed, at most the kept-body cap before compression (sha256 covers it all)
    body: bytes = Field(default=b"", sa_type=LargeBinary)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    # yes, no or None; multiple choice: the label; numeric/date: "value" (the number is
    # `value`, dates as Unix seconds)
    decision: str | None = Field(default=None, max_length=LABEL_MAX)
    error: str | None = Field(default=None, sa_type=Text)  # never names a resolved address
    # every hop was a public address; False: the allow list let it in; None: not recorded
    public_address: bool | None = None
    proposal_id: int | None = Field(default=None, foreign_key="proposals.id", index=True)
