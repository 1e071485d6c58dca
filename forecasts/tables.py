"""SQLAlchemy Core handles of the tables the submission path and the ledger tools touch."""

from sqlalchemy import Table

from claims.models import Claim
from forecasts.models import (
    ApiToken,
    ClaimStats,
    CommitmentSalt,
    Forecast,
    IdempotencyRecord,
    LedgerEntry,
    LedgerHead,
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
