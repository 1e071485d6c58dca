"""A claim's live probabilities as the public sees them: crowd, market, forecaster count."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from forecasts.ledger.lru import LRUCache
from forecasts.ledger.models import ClaimStats, Forecast, Standing
from forecasts.score_math.crowd import crowd_probability

CROWD_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Probabilities:
    crowd: float | None
    market: float
    forecasters: int
    last_seq: int


def claims_probabilities(
    session: Session,
    claim_ids: Sequence[int],
    cache: "LRUCache[tuple[int, int], Probabilities] | None" = None,
) -> dict[int, Probabilities]:
    """Crowd (recency-weighted median of standing forecasts) and market probability of each
    claim, by id, with two queries for them all.

    The crowd is computed from the standings and cached by the claim's last ledger seq, so it
    is recomputed only after the claim's forecasts change.
    """
    found = {claim_id: Probabilities(None, 0.5, 0, 0) for claim_id in claim_ids}
    if not claim_ids:
        return found
    stats = {
        row.claim_id: row
        for row in session.execute(
            select(ClaimStats.claim_id, ClaimStats.market, ClaimStats.last_seq).where(  # type: ignore[call-overload]
                col(ClaimStats.claim_id).in_(claim_ids)
            )
        )
    }
    missing = []
    for claim_id, row in stats.items():
        hit = cache.get((claim_id, row.last_seq)) if cache is not None else None
        if hit is not None:
            found[claim_id] = hit
        else:
            missing.append(claim_id)
    if not missing:
        return found
    standing: dict[int, list[tuple[datetime, int, float]]] = {c: [] for c in missing}
    for row in session.execute(
        select(Standing.claim_id, Standing.at, Standing.ledger_seq, Standing.probability).where(  # type: ignore[call-overload]
            col(Standing.claim_id).in_(missing), col(Standing.probability).is_not(None)
        )
    ):
        standing[row[0]].append((row[1], int(row[2]), float(row[3])))
    for claim_id in missing:
        row = stats[claim_id]
        rows = standing[claim_id]
        market = 0.5 if row.market is None else row.market
        result = Probabilities(crowd_probability(rows), market, len(rows), row.last_seq)
        found[claim_id] = result
        if cache is not None:
            cache.put((claim_id, row.last_seq), result)
    return found


def standings_of(
    session: Session, claim_ids: Sequence[int], account_id: int
) -> dict[int, tuple[Standing, str | None]]:
    """The account's standing forecast (not withdrawn) on each of these claims, with its
    rationale, by claim id."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(Standing, Forecast.rationale)  # type: ignore[call-overload]
        .join(Forecast, col(Forecast.id) == col(Standing.forecast_id))
        .where(
            col(Standing.claim_id).in_(claim_ids),
            Standing.account_id == account_id,
            col(Standing.probability).is_not(None),
        )
    )
    return {standing.claim_id: (standing, rationale) for standing, rationale in rows}
