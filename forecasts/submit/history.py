"""A claim's public probability history: the crowd and the market after each forecast.

Like a price chart, the history is public while the claim is open (SPEC §2): it names no
one, only the moments the probabilities moved and where they went.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from forecasts.ledger.lru import LRUCache
from forecasts.ledger.models import ClaimStats
from forecasts.ledger.tables import forecasts_t
from forecasts.score_math.crowd import MARKET_PRIOR, CrowdTracker
from forecasts.score_math.crowd_batches import crowd_after_each

HISTORY_CACHE_SIZE = 2048


@dataclass(frozen=True)
class HistoryPoint:
    """The crowd (None while nobody stands) and market probability from `at` on."""

    at: datetime
    crowd: float | None
    market: float


Event = tuple[int, datetime, int, float | None]  # account id, time, ledger seq, probability


@dataclass(frozen=True)
class _Replay:
    """A claim's history up to one ledger seq, and what extending it takes."""

    last_seq: int  # the claim's last forecast seq when it was read
    points: list[HistoryPoint]  # never changed once built: extending makes a new list
    tracker: CrowdTracker  # the standing forecasts after the last point
    last: tuple[datetime, int] | None  # (time, seq) of the last event


def _replay(ordered: Sequence[Event], last_seq: int) -> _Replay:
    """Every point at once: the crowd after each event in one vectorised pass."""
    owner: dict[int, int] = {}
    owners = np.array([owner.setdefault(event[0], len(owner)) for event in ordered], dtype=np.int64)
    probabilities = np.array([event[3] for event in ordered], dtype=np.float64)  # None: NaN
    crowd = crowd_after_each(owners, probabilities).tolist()
    market = MARKET_PRIOR
    points: list[HistoryPoint] = []
    standing: dict[int, float] = {}  # oldest standing forecast first
    for (account, at, _seq, probability), value in zip(ordered, crowd, strict=True):
        standing.pop(account, None)
        if probability is not None:
            market = probability
            standing[account] = probability
        points.append(HistoryPoint(at, None if math.isnan(value) else value, market))
    return _Replay(
        last_seq=last_seq,
        points=points,
        tracker=CrowdTracker.of(standing.items()),
        last=(ordered[-1][1], ordered[-1][2]) if ordered else None,
    )


def _extended(replay: _Replay, ordered: Sequence[Event], last_seq: int) -> _Replay:
    """The history with later events added, one at a time (a few vectorised passes each)."""
    tracker = replay.tracker.copy()
    market = replay.points[-1].market if replay.points else MARKET_PRIOR
    points = list(replay.points)
    for account, at, _seq, probability in ordered:
        tracker.update(account, probability)
        if probability is not None:
            market = probability
        points.append(HistoryPoint(at, tracker.crowd(), market))
    return _Replay(
        last_seq=last_seq,
        points=points,
        tracker=tracker,
        last=(ordered[-1][1], ordered[-1][2]),
    )


def probability_history(
    session: Session,
    claim_id: int,
    cache: "LRUCache[int, _Replay] | None" = None,
) -> list[HistoryPoint]:
    """The claim's history from every forecast and withdrawal on it (imported ones too).

    With a cache (by claim), a claim whose forecasts changed since it was cached has only the
    new events added to its history: a claim with thousands of forecasts is replayed once,
    not after every new forecast. Events that do not come after the cached ones in time (an
    import of older history) make it replay everything.
    """
    stats = session.get(ClaimStats, claim_id)
    last_seq = stats.last_seq if stats is not None else 0
    cached = cache.get(claim_id) if cache is not None else None
    replay = None
    if cached is not None and cached.last_seq == last_seq:
        replay = cached
    elif cached is not None and cached.last_seq < last_seq:
        later = _events(session, claim_id, after=cached.last_seq)
        if not later:
            replay = replace(cached, last_seq=last_seq)
        elif cached.last is None or (later[0][1], later[0][2]) > cached.last:
            replay = _extended(cached, later, last_seq)
    if replay is None:
        replay = _replay(_events(session, claim_id), last_seq)
    if cache is not None:
        cache.put(claim_id, replay)
    return replay.points


def _events(session: Session, claim_id: int, *, after: int = 0) -> list[Event]:
    """The claim's events with a ledger seq above `after`, in time order (ties by seq)."""
    rows = session.connection().execute(
        select(
            forecasts_t.c.account_id,
            forecasts_t.c.created_at,
            forecasts_t.c.ledger_seq,
            forecasts_t.c.probability,
        )
        .where(forecasts_t.c.claim_id == claim_id, forecasts_t.c.ledger_seq > after)
        .order_by(forecasts_t.c.created_at, forecasts_t.c.ledger_seq)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]
