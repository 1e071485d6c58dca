"""A claim's live probabilities as the public sees them: crowd, market, forecaster count."""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from forecasts.crowd import crowd_probability
from forecasts.models import ClaimStats, Standing

_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Probabilities:
    crowd: float | None
    market: float
    forecasters: int
    last_seq: int


def claim_probabilities(
    session: Session, claim_id: int, cache: "OrderedDict[tuple[int, int], Any] | None" = None
) -> Probabilities:
    """Crowd (recency-weighted median of standing forecasts) and market probability.

    The crowd is computed from the standings and cached by the claim's last ledger seq, so it
    is recomputed only after the claim's forecasts change.
    """
    stats = session.get(ClaimStats, claim_id)
    if stats is None:
        return Probabilities(None, 0.5, 0, 0)
    key = (claim_id, stats.last_seq)
    if cache is not None and key in cache:
        cache.move_to_end(key)
        hit: Probabilities = cache[key]
        return hit
    rows = session.execute(
        select(Standing.at, Standing.ledger_seq, Standing.probability).where(  # type: ignore[call-overload]
            Standing.claim_id == claim_id,
            Standing.probability.is_not(None),  # type: ignore[union-attr]
        )
    ).all()
    crowd = crowd_probability([(row[0], int(row[1]), float(row[2])) for row in rows])
    market = 0.5 if stats.market is None else stats.market
    result = Probabilities(crowd, market, len(rows), stats.last_seq)
    if cache is not None:
        cache[key] = result
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return result


def standing_of(session: Session, claim_id: int, account_id: int) -> Standing | None:
    standing = session.get(Standing, (claim_id, account_id))
    if standing is None or standing.probability is None:
        return None
    return standing
