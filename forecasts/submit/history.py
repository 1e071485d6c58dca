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
from forecasts.ledger.tables import forecasts_t, stats_t
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
    return probability_histories(session, [claim_id], cache)[claim_id]


def probability_histories(
    session: Session,
    claim_ids: Sequence[int],
    cache: "LRUCache[int, _Replay] | None" = None,
) -> dict[int, list[HistoryPoint]]:
    """`probability_history` of each claim, in a few queries for them all."""
    ids = list(dict.fromkeys(claim_ids))
    if not ids:
        return {}
    conn = session.connection()
    rows = conn.execute(
        select(stats_t.c.claim_id, stats_t.c.last_seq).where(stats_t.c.claim_id.in_(ids))
    )
    last_seqs = {claim_id: 0 for claim_id in ids} | {row[0]: row[1] for row in rows}
    cached: dict[int, _Replay] = {}
    if cache is not None:
        for claim_id in ids:  # one read each: another request may evict it meanwhile
            found = cache.get(claim_id)
            if found is not None:
                cached[claim_id] = found
    later = {i: r.last_seq for i, r in cached.items() if r.last_seq < last_seqs[i]}
    fresh = [i for i in ids if i not in cached or cached[i].last_seq > last_seqs[i]]
    events = _events(session, [*later, *fresh], {**later, **{i: 0 for i in fresh}})
    replays: dict[int, _Replay] = {}
    for claim_id in ids:
        replay = cached.get(claim_id) if claim_id not in fresh else None
        if claim_id in later and replay is not None:
            replay = _later(replay, events[claim_id], last_seqs[claim_id])
        if replay is not None:
            replays[claim_id] = replay
    redo = [i for i in ids if i not in replays]
    if redo:
        for claim_id, ordered in _events(session, redo, dict.fromkeys(redo, 0)).items():
            replays[claim_id] = _replay(ordered, last_seqs[claim_id])
    if cache is not None:
        for claim_id in ids:
            cache.put(claim_id, replays[claim_id])
    return {claim_id: replays[claim_id].points for claim_id in ids}


def _later(cached: _Replay, later: list[Event], last_seq: int) -> _Replay | None:
    """The cached history with its later events, or None when they must be replayed anew."""
    if not later:
        return replace(cached, last_seq=last_seq)
    if cached.last is None or (later[0][1], later[0][2]) > cached.last:
        return _extended(cached, later, last_seq)
    return None


def _events(
    session: Session, claim_ids: list[int], after: dict[int, int]
) -> dict[int, list[Event]]:
    """Each claim's events with a ledger seq above its `after`, in time order (ties by seq)."""
    found: dict[int, list[Event]] = {claim_id: [] for claim_id in claim_ids}
    if not claim_ids:
        return found
    rows = session.connection().execute(
        select(
            forecasts_t.c.claim_id,
            forecasts_t.c.account_id,
            forecasts_t.c.created_at,
            forecasts_t.c.ledger_seq,
            forecasts_t.c.probability,
        )
        .where(
            forecasts_t.c.claim_id.in_(claim_ids),
            forecasts_t.c.ledger_seq > min(after.values()),
        )
        .order_by(forecasts_t.c.created_at, forecasts_t.c.ledger_seq)
    )
    for row in rows:
        if row[3] > after[row[0]]:
            found[row[0]].append((row[1], row[2], row[3], row[4]))
    return found
