"""Who said what and when: accounts, tokens, forecasts, the ledger and derived standings."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from claims.columns import UTCDateTime
from forecasts.ledger.roles import Role


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=40, unique=True, index=True)
    role: str = Field(default=Role.FORECASTER, max_length=20)
    password_hash: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # site sessions carry the epoch they began in; moving it on ends every one (migration 0008)
    session_epoch: int = 0


class ApiToken(SQLModel, table=True):
    """A bearer token, stored only as the SHA-256 of its (high-entropy, random) text."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """One link of the hash chain. Append-only: the database refuses UPDATE and DELETE."""

    __tablename__ = "ledger_entries"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=40)
    created_at: datetime = Field(sa_type=UTCDateTime)
    payload_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)  # no index: nothing looks an entry up by hash (0005)
    # Canonical JSON of the payload; None for commitments (forecasts, withdrawals).
    payload: str | None = Field(default=None, sa_type=Text)
    # An index only, not part of the hash: which claim the entry concerns.
    claim_id: int | None = Field(default=None, foreign_key="claims.id", index=True)
    # What a commitment's payload_hash covers (SPEC §3): 1 before rationales were committed
    # to, 2 after (forecasts.ledger.chain.commitment_body). Not in the hash: a wrong one fails.
    payload_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class LedgerHead(SQLModel, table=True):
    """The single row naming the chain's head; appends lock it to stay one chain."""

    __tablename__ = "ledger_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)


class Forecast(SQLModel, table=True):
    """A forecast, or a withdrawal when `probability` is None. Append-only."""

    __tablename__ = "forecasts"
    __table_args__ = (Index("ix_forecasts_claim_seq", "claim_id", "ledger_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claims.id")
    account_id: int = Field(foreign_key="accounts.id")  # queried within a claim only (0005)
    probability: float | None = None
    # Other kinds (SPEC §7): float64 LE (`forecasts.ledger.packing`), the normalised
    # probabilities in the claim's options order, or the 201 CDF values. None: binary or a
    # withdrawal (then probability is None too).
    distribution: bytes | None = Field(default=None, sa_type=LargeBinary)
    rationale: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    ledger_seq: int = Field(foreign_key="ledger_entries.seq", unique=True)
    imported: bool = False
    # The [[q, x], ...] a CDF was made from, for display only: not committed to.
    quantiles: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class CommitmentSalt(SQLModel, table=True):
    """The salt of a forecast's commitment, kept apart from the chain until the reveal."""

    __tablename__ = "commitment_salts"

    ledger_seq: int = Field(primary_key=True, foreign_key="ledger_entries.seq")
    salt: str = Field(max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id")
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Standing(SQLModel, table=True):
    """Derived: each forecaster's latest record on a claim (None after a withdrawal)."""

    __tablename__ = "standings"

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", primary_key=True)
    forecast_id: int
    probability: float | None = None
    distribution: bytes | None = Field(default=None, sa_type=LargeBinary)  # as Forecast's
    at: datetime = Field(sa_type=UTCDateTime)
    ledger_seq: int


class ClaimStats(SQLModel, table=True):
    """Derived, kept by the append path: market probability and forecaster count per claim."""

    __tablename__ = "claim_stats"

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    market: float | None = None
    # Other kinds: the latest forecast's distribution (packed as Forecast.distribution).
    market_distribution: bytes | None = Field(default=None, sa_type=LargeBinary)
    forecasters: int = 0
    last_seq: int = 0


# Score rows per shelf of the handle index (`forecasts.scores.leaderboard.of_handle`).
SHELF_ROWS = 16_384


class Score(SQLModel, table=True):
    """Derived: one forecaster's (or `@crowd`'s) scores on a resolved claim (SPEC §4)."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("claim_id", "handle"),
        # A forecaster's rows, filed by handle within shelves of SHELF_ROWS consecutive ids:
        # a resolution's new rows all reach the newest shelf (migration 0006).
        Index("ix_scores_shelf_handle", text(f"(id / {SHELF_ROWS})"), "handle"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # claim lookups use the unique (claim_id, handle) index; see migration 0004
    claim_id: int = Field(foreign_key="claims.id")
    account_id: int | None = Field(default=None, foreign_key="accounts.id")
    handle: str = Field(max_length=40)
    brier: float | None = None
    time_averaged_brier: float | None = None
    coverage: float
    log_score: float | None = None
    baseline_score: float | None = None
    peer_score: float | None = None
    market_points: float | None = None
    # the standing probability at the close and the outcome, for calibration
    probability_at_close: float | None = None
    outcome: int
    resolves_at: datetime = Field(sa_type=UTCDateTime)
    scored_at: datetime = Field(sa_type=UTCDateTime)


class ForecasterTotals(SQLModel, table=True):
    """Derived: one forecaster's (or `@crowd`'s) sums over their Score rows, for the leaderboard.

    Kept up to date by the transaction that changes the scores (old rows subtracted, new rows
    added), so the leaderboard never aggregates the scores table. `revision` changes with
    every update; it keys the cached bootstrap interval.
    """

    __tablename__ = "forecaster_totals"

    handle: str = Field(max_length=40, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="accounts.id")
    claims_scored: int = Field(default=0, index=True)
    brier_sum: float = 0.0
    brier_count: int = 0
    mean_brier: float | None = None
    time_averaged_brier_sum: float = 0.0
    time_averaged_brier_count: int = 0
    mean_time_averaged_brier: float | None = None
    peer_sum: float = 0.0
    coverage_sum: float = 0.0
    baseline_total: float = 0.0
    market_points_sum: float = 0.0
    market_points_count: int = 0
    revision: int = Field(default=0, sa_type=BigInteger)


class SignInFailure(SQLModel, table=True):
    """A sign-in attempt of a handle from a client address, kept for a minute or so.

    Written before the password is checked and deleted when it was right, so what stays are
    failures. In the database, not in a process, so that every process of a deployment
    counts the same ones (`web.pages.throttle`).
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_handle_client_at", "handle", "client", "failed_at"),
        Index("ix_sign_in_failures_at", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=40)
    client: str = Field(default="", max_length=64)
    failed_at: datetime = Field(sa_type=UTCDateTime)


class ClaimantRecord(SQLModel, table=True):
    """Derived: a claimant's track record over its resolved claims (SPEC §8).

    Rewritten by the transaction that resolves, re-resolves or annuls one of its claims, or
    links one to it (`forecasts.claimants.records`); a mean over no claims is None.
    """

    __tablename__ = "claimant_records"

    claimant_id: int = Field(foreign_key="claimants.id", primary_key=True)
    claims_resolved: int = Field(default=0, index=True)
    hit_rate: float | None = None
    mean_consensus: float | None = None
    yield_: float | None = None
    brier: float | None = None


class ClaimConsensus(SQLModel, table=True):
    """Derived: the crowd's time-averaged probability of the claimant's side on a resolved
    claim that cites one (SPEC §8 `consensus`; None when `@crowd` has no score row)."""

    __tablename__ = "claim_consensus"

    claim_id: int = Field(foreign_key="claims.id", primary_key=True)
    consensus: float | None = None
