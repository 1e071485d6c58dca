"""The public history of claims of other kinds (SPEC §7): crowd and market after each event.

As `history.py` does for binary claims, a claim's history is cached by claim and extended
with the events after the cached ones, so a new forecast costs one crowd, not a replay.
The crowd after an event is the §7 crowd of the distributions then standing (oldest first).
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlmodel import Session

from forecasts.ledger.lru import LRUCache
from forecasts.ledger.packing import unpack
from forecasts.ledger.tables import forecasts_t, stats_t
from forecasts.score_math.distributions import N_BINS, mc_crowd, numeric_crowd

_Values = npt.NDArray[np.float64]


@dataclass(frozen=True)
class KindPoint:
    """The crowd (None while nobody stands) and the market (None: the prior) from `at` on."""

    at: datetime
    crowd: list[float] | None
    market: list[float] | None


@dataclass(frozen=True)
class _Replay:
    last_seq: int
    points: list[KindPoint]
    standing: dict[int, _Values]  # account -> distribution, oldest standing first
    last: tuple[datetime, int] | None


def _crowd(standing: dict[int, _Values]) -> list[float] | None:
    values = list(standing.values())
    if not values:
        return None
    if len(values[0]) == N_BINS + 1:  # a CDF; multiple choice has at most 20 options
        mean = numeric_crowd(np.array(values))
        return None if mean is None else mean.tolist()
    return mc_crowd([v.tolist() for v in values])


def _apply(
    replay: _Replay, rows: list[tuple[int, datetime, int, bytes | None]], seq: int
) -> _Replay:
    standing = dict(replay.standing)
    points = list(replay.points)
    market = points[-1].market if points else None
    for account, at, _seq, data in rows:
        standing.pop(account, None)
        if data is not None:
            values = unpack(data)
            standing[account] = values
            market = values.tolist()
        points.append(KindPoint(at, _crowd(standing), market))
    last = (rows[-1][1], rows[-1][2]) if rows else replay.last
    return _Replay(seq, points, standing, last)


def distribution_history(
    session: Session, claim_id: int, cache: "LRUCache[int, _Replay] | None" = None
) -> list[KindPoint]:
    """The claim's history from every forecast and withdrawal on it (imported ones too)."""
    conn = session.connection()
    last_seq = (
        conn.execute(select(stats_t.c.last_seq).where(stats_t.c.claim_id == claim_id)).scalar() or 0
    )
    cached = cache.get(claim_id) if cache is not None else None
    if cached is not None and cached.last_seq == last_seq:
        return cached.points
    replay = None
    if cached is not None and cached.last_seq < last_seq:
        later = _events(session, claim_id, cached.last_seq)
        # later events that come after the cached ones in time extend it (an import of
        # older history does not: then everything is replayed)
        if cached.last is None or not later or (later[0][1], later[0][2]) > cached.last:
            replay = _apply(cached, later, last_seq)
    if replay is None:
        replay = _apply(_Replay(0, [], {}, None), _events(session, claim_id, 0), last_seq)
    if cache is not None:
        cache.put(claim_id, replay)
    return replay.points


def _events(
    session: Session, claim_id: int, after: int
) -> list[tuple[int, datetime, int, bytes | None]]:
    rows = session.connection().execute(
        select(
            forecasts_t.c.account_id,
            forecasts_t.c.created_at,
            forecasts_t.c.ledger_seq,
            forecasts_t.c.distribution,
        )
        .where(forecasts_t.c.claim_id == claim_id, forecasts_t.c.ledger_seq > after)
        .order_by(forecasts_t.c.created_at, forecasts_t.c.ledger_seq)
    )
    return [(r[0], r[1], r[2], None if r[3] is None else bytes(r[3])) for r in rows]
