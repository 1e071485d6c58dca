"""SQLAlchemy Core handles of the tables, for the modules that work below the ORM."""

from sqlalchemy import Table

from claims.models import Claim, Claimant, ClaimTag, ClaimVersion, EvidenceSnapshot, Proposal
from forecasts.ledger.models import (
    Account,
    ApiToken,
    ClaimantRecord,
    ClaimConsensus,
    ClaimStats,
    CommitmentSalt,
    Forecast,
    ForecasterTotals,
    IdempotencyRecord,
    LedgerEntry,
    LedgerHead,
    Score,
    Standing,
)

claims_t: Table = Claim.__table__  # type: ignore[attr-defined]
forecasts_t: Table = Forecast.__table__  # type: ignore[attr-defined]
salts_t: Table = CommitmentSalt.__table__  # type: ignore[attr-defined]
idem_t: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
standings_t: Table = Standing.__table__  # type: ignore[attr-defined]
stats_t: Table = ClaimStats.__table__  # type: ignore[attr-defined]
tokens_t: Table = ApiToken.__table__  # type: ignore[attr-defined]
entries_t: Table = LedgerEntry.__table__  # type: ignore[attr-defined]
head_t: Table = LedgerHead.__table__  # type: ignore[attr-defined]
accounts_t: Table = Account.__table__  # type: ignore[attr-defined]
scores_t: Table = Score.__table__  # type: ignore[attr-defined]
totals_t: Table = ForecasterTotals.__table__  # type: ignore[attr-defined]
tags_t: Table = ClaimTag.__table__  # type: ignore[attr-defined]
versions_t: Table = ClaimVersion.__table__  # type: ignore[attr-defined]
proposals_t: Table = Proposal.__table__  # type: ignore[attr-defined]
evidence_t: Table = EvidenceSnapshot.__table__  # type: ignore[attr-defined]
claimants_t: Table = Claimant.__table__  # type: ignore[attr-defined]
records_t: Table = ClaimantRecord.__table__  # type: ignore[attr-defined]
consensus_t: Table = ClaimConsensus.__table__  # type: ignore[attr-defined]
