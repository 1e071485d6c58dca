"""A claim's public probability history: the crowd and the market after each forecast.

Like a price chart, the history is public while the claim is open (SPEC §2): it names no
one, only the moments the probabilities moved and where they went.
"""

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from forecasts.crowd import MARKET_PRIOR, crowd_after_each
from forecasts.models import ClaimStats
from forecasts.tables import forecasts_t

_CACHE_SIZE = 2048


@dataclass(frozen=True)
class HistoryPoint:
    """The crowd (None while nobody stands) and market probability from `at` on."""

    at: datetime
    crowd: float | None
    market: float


def history_of(events: Iterable[tuple[int, datetime, int, float | None]]) -> list[HistoryPoint]:
    """History from events (account id, time, ledger seq, probability or None for a withdrawal).

    One point per event, in ledger order; the market ignores withdrawals (SPEC §2).
    """
    ordered = sorted(events, key=lambda event: (event[1], event[2]))
    owner: dict[int, int] = {}
    owners = np.array([owner.setdefault(event[0], len(owner)) for event in ordered], dtype=np.int64)
    probabilities = np.array([event[3] for event in ordered], dtype=np.float64)  # None: NaN
    crowd = crowd_after_each(owners, probabilities).tolist()
    market = MARKET_PRIOR
    points: list[HistoryPoint] = []
    for (_, at, _seq, probability), standing in zip(ordered, crowd, strict=True):
        if probability is not None:
            market = probability
        points.append(HistoryPoint(at, None if math.isnan(standing) else standing, market))
    return points


def probability_history(
    session: Session,
    claim_id: int,
    cache: "OrderedDict[tuple[int, int], Any] | None" = None,
) -> list[HistoryPoint]:
    """The claim's history from every forecast and withdrawal on it (imported ones too).

    With a cache, it is kept by the claim's last ledger seq (as the crowd is), so a claim's
    history is replayed again only after its forecasts change.
    """
    stats = session.get(ClaimStats, claim_id)
    key = (claim_id, stats.last_seq if stats is not None else 0)
    if cache is not None and key in cache:
        cache.move_to_end(key)
        hit: list[HistoryPoint] = cache[key]
        return hit
    rows = session.connection().execute(
        select(
            forecasts_t.c.account_id,
            forecasts_t.c.created_at,
            forecasts_t.c.ledger_seq,
            forecasts_t.c.probability,
        )
        .where(forecasts_t.c.claim_id == claim_id)
        .order_by(forecasts_t.c.created_at, forecasts_t.c.ledger_seq)
    )
    points = history_of((row[0], row[1], row[2], row[3]) for row in rows)
    if cache is not None:
        cache[key] = points
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return points
