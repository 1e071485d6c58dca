"""A claim's live probabilities as the public sees them: crowd, market, forecaster count."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from forecasts.ledger.lru import LRUCache
from forecasts.ledger.models import ClaimStats, Forecast, Standing
from forecasts.ledger.packing import unpack
from forecasts.score_math.crowd import crowd_probability
from forecasts.score_math.distributions import N_BINS, mc_crowd, numeric_crowd

CROWD_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Probabilities:
    crowd: float | None
    market: float
    forecasters: int
    last_seq: int
    # Other kinds (SPEC §7): the crowd's and the market's distribution as stored (options
    # order, or the 201 CDF values); None before any forecast (the web shows the prior).
    crowd_values: list[float] | None = None
    market_values: list[float] | None = None


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
            select(  # type: ignore[call-overload]
                ClaimStats.claim_id,
                ClaimStats.market,
                ClaimStats.market_distribution,
                ClaimStats.last_seq,
            ).where(col(ClaimStats.claim_id).in_(claim_ids))
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
    spread: dict[int, list[tuple[datetime, int, bytes]]] = {c: [] for c in missing}
    for row in session.execute(
        select(  # type: ignore[call-overload]
            Standing.claim_id,
            Standing.at,
            Standing.ledger_seq,
            Standing.probability,
            Standing.distribution,
        ).where(col(Standing.claim_id).in_(missing), standing_now())
    ):
        if row[4] is not None:
            spread[row[0]].append((row[1], int(row[2]), row[4]))
        else:
            standing[row[0]].append((row[1], int(row[2]), float(row[3])))
    for claim_id in missing:
        row = stats[claim_id]
        rows = standing[claim_id]
        market = 0.5 if row.market is None else row.market
        if spread[claim_id] or row.market_distribution is not None:
            result = _kind_probabilities(spread[claim_id], row.market_distribution, row.last_seq)
        else:
            result = Probabilities(crowd_probability(rows), market, len(rows), row.last_seq)
        found[claim_id] = result
        if cache is not None:
            cache.put((claim_id, row.last_seq), result)
    return found


def standings_of(
    session: Session, claim_ids: Sequence[int], account_id: int
) -> dict[int, tuple[Standing, str | None, list[Any] | None]]:
    """The account's standing forecast (not withdrawn) on each of these claims, with its
    rationale and quantiles, by claim id."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(Standing, Forecast.rationale, Forecast.quantiles)  # type: ignore[call-overload]
        .join(Forecast, col(Forecast.id) == col(Standing.forecast_id))
        .where(
            col(Standing.claim_id).in_(claim_ids),
            Standing.account_id == account_id,
            standing_now(),
        )
    )
    return {row[0].claim_id: (row[0], row[1], row[2]) for row in rows}


def standing_now() -> Any:
    """The condition on `standings` of a forecast still standing (not withdrawn)."""
    return or_(col(Standing.probability).is_not(None), col(Standing.distribution).is_not(None))


def _kind_probabilities(
    spread: list[tuple[datetime, int, bytes]], market: bytes | None, last_seq: int
) -> Probabilities:
    """Another kind's crowd (§7, over standing distributions oldest first) and market."""
    spread.sort(key=lambda item: (item[0], item[1]))
    values = [unpack(data).tolist() for _, _, data in spread]
    crowd: list[float] | None = None
    if values:
        # 201 values are a CDF; a multiple-choice claim has at most 20 options
        mean = numeric_crowd(values) if len(values[0]) == N_BINS + 1 else mc_crowd(values)
        crowd = None if mean is None else [float(v) for v in mean]
    shown = None if market is None else unpack(market).tolist()
    return Probabilities(None, 0.5, len(spread), last_seq, crowd, shown)
