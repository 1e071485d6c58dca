"""Scores of one resolved binary claim (SPEC §4), in one sorted sweep over its events.

Time is measured in units of the scheduled window T1 - T0, so an integral over a stretch of
time is already divided by T1 - T0. The sweep replays the events in ledger order once,
recording after each event how many forecasters stand, the sum of their ln q and the crowd
probability; each forecaster's standing forecast is constant between two of their own
events (a "stint"), so their integrals are sums over stints, and the peer score's "mean of
the others" comes from running integrals of the whole field:
    peer integrand = [n > 1] * (ln q_i - (S - ln q_i) / (n - 1))
                   = ln q_i * ([n > 1] + [n > 1] / (n - 1)) - [n > 1] * S / (n - 1),
with n the number of standing forecasters and S the sum of their ln q.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from forecasts.crowd import MARKET_PRIOR, CrowdTracker

CROWD_HANDLE = "@crowd"

_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ScoringEvent:
    """A forecast (probability) or a withdrawal (probability None) on the claim."""

    handle: str
    at: datetime
    seq: int
    probability: float | None


@dataclass(frozen=True)
class ScoreRow:
    """One forecaster's scores on one claim; undefined fields are None, never NaN."""

    handle: str
    brier: float | None
    time_averaged_brier: float
    coverage: float
    log_score: float | None
    baseline_score: float
    peer_score: float
    market_points: float | None


def prepare_events(
    events: Sequence[ScoringEvent],
    *,
    opens_at: datetime,
    closes_at: datetime,
    closed_at: datetime,
    outcome: int,
) -> tuple[list[ScoringEvent], datetime]:
    """Check the inputs; return the events before Tc in ledger order, and Tc.

    Tc is `closed_at`, but never later than the scheduled `closes_at`: no forecast counts
    after that, and coverage must stay within T1 - T0.
    """
    if closes_at <= opens_at:
        raise ValueError("closes_at must be after opens_at")
    if outcome not in (0, 1):
        raise ValueError("outcome must be 0 or 1")
    for event in events:
        if event.handle == CROWD_HANDLE:
            raise ValueError(f"{CROWD_HANDLE} is not a forecaster")
        if event.probability is not None and not 0 < event.probability < 1:
            raise ValueError(f"probability {event.probability!r} is not strictly between 0 and 1")
    end = min(closed_at, closes_at)
    kept = [event for event in events if event.at < end]
    return sorted(kept, key=lambda event: (event.at, event.seq)), end


def window_fraction(at: datetime, *, opens_at: datetime, closes_at: datetime) -> float:
    """Time since T0 in units of T1 - T0, not before T0 (earlier forecasts count from T0)."""
    return max((at - opens_at) / (closes_at - opens_at), 0.0)


def crowd_timeline(
    events: Sequence[ScoringEvent], *, closed_at: datetime | None = None
) -> list[tuple[datetime, float | None]]:
    """The crowd probability after each event (in ledger order), ignoring those from closed_at."""
    ordered = sorted(events, key=lambda event: (event.at, event.seq))
    tracker = CrowdTracker()
    timeline: list[tuple[datetime, float | None]] = []
    for event in ordered:
        if closed_at is not None and event.at >= closed_at:
            break
        tracker.update(event.handle, event.probability)
        timeline.append((event.at, tracker.crowd()))
    return timeline


@dataclass
class _Sweep:
    """What one pass over the events records (index k: the segment after event k)."""

    times: _Floats  # event times, then Tc; segment k runs from times[k] to times[k + 1]
    standing_count: npt.NDArray[np.int64]
    ln_q_sum: _Floats
    crowd: _Floats  # NaN while nobody stands
    stint_handle: npt.NDArray[np.int64]
    stint_probability: _Floats
    stint_start: npt.NDArray[np.int64]
    stint_end: npt.NDArray[np.int64]
    market_handle: npt.NDArray[np.int64]
    market_points: _Floats
    handles: list[str]
    final: dict[str, float]


def _q(probability: float, outcome: int) -> float:
    return probability if outcome == 1 else 1 - probability


def _sweep(ordered: Sequence[ScoringEvent], times: list[float], outcome: int) -> _Sweep:
    index: dict[str, int] = {}
    count, ln_sum, crowd = [], [], []
    stints: list[tuple[int, float, int, int]] = []
    opened: dict[str, int] = {}
    market_handle: list[int] = []
    market_ratio: list[float] = []
    market = MARKET_PRIOR
    running = 0.0
    tracker = CrowdTracker()
    for k, event in enumerate(ordered):
        who = index.setdefault(event.handle, len(index))
        previous = tracker.update(event.handle, event.probability)
        if previous is not None:
            running -= math.log(_q(previous, outcome))
            stints.append((who, previous, opened.pop(event.handle), k))
        if event.probability is not None:
            running += math.log(_q(event.probability, outcome))
            opened[event.handle] = k
            market_handle.append(who)
            market_ratio.append(_q(event.probability, outcome) / _q(market, outcome))
            market = event.probability
        if not tracker.standing:
            running = 0.0  # drop rounding left over from the additions and subtractions
        count.append(len(tracker.standing))
        ln_sum.append(running)
        median = tracker.crowd()
        crowd.append(math.nan if median is None else median)
    end = len(ordered)
    stints.extend((index[h], p, opened[h], end) for h, p in tracker.standing.items())
    table = np.array(stints, dtype=np.float64).reshape(-1, 4)  # small ints are exact floats
    return _Sweep(
        times=np.array(times, dtype=np.float64),
        standing_count=np.array(count, dtype=np.int64),
        ln_q_sum=np.array(ln_sum, dtype=np.float64),
        crowd=np.array(crowd, dtype=np.float64),
        stint_handle=table[:, 0].astype(np.int64),
        stint_probability=table[:, 1],
        stint_start=table[:, 2].astype(np.int64),
        stint_end=table[:, 3].astype(np.int64),
        market_handle=np.array(market_handle, dtype=np.int64),
        market_points=100 * np.log2(np.array(market_ratio, dtype=np.float64)),
        handles=list(index),
        final=dict(tracker.standing),
    )


def _prefix(values: _Floats) -> _Floats:
    return np.concatenate(([0.0], np.cumsum(values)))


def _sum_by(who: npt.NDArray[np.int64], weights: _Floats, size: int) -> _Floats:
    return np.bincount(who, weights=weights, minlength=size).astype(np.float64)


def _forecaster_rows(sweep: _Sweep, outcome: int) -> list[ScoreRow]:
    dt = np.diff(sweep.times)
    others = sweep.standing_count - 1
    shared = (others > 0).astype(np.float64)
    per_other = np.divide(1.0, others, out=np.zeros_like(dt), where=others > 0)
    # Running integrals of [n > 1], [n > 1] / (n - 1) and [n > 1] * S / (n - 1) (see the top).
    shared_time = _prefix(shared * dt)
    per_other_time = _prefix(per_other * dt)
    others_ln_q = _prefix(per_other * sweep.ln_q_sum * dt)

    start, stop, p = sweep.stint_start, sweep.stint_end, sweep.stint_probability
    q = p if outcome == 1 else 1 - p
    ln_q = np.log(q)
    duration = sweep.times[stop] - sweep.times[start]
    weight = shared_time[stop] - shared_time[start] + per_other_time[stop] - per_other_time[start]
    peer = ln_q * weight - (others_ln_q[stop] - others_ln_q[start])

    size = len(sweep.handles)
    who = sweep.stint_handle
    coverage = _sum_by(who, duration, size)
    squared = _sum_by(who, (p - outcome) ** 2 * duration, size)
    baseline = _sum_by(who, np.log2(2 * q) * duration, size)
    peer_sum = _sum_by(who, peer, size)
    market = _sum_by(sweep.market_handle, sweep.market_points, size)

    rows = []
    for i, handle in enumerate(sweep.handles):
        if coverage[i] <= 0:
            continue
        last = sweep.final.get(handle)
        rows.append(
            ScoreRow(
                handle=handle,
                brier=None if last is None else (last - outcome) ** 2,
                time_averaged_brier=float(squared[i] / coverage[i]),
                coverage=float(coverage[i]),
                log_score=None if last is None else math.log(_q(last, outcome)),
                baseline_score=100 * float(baseline[i]),
                peer_score=100 * float(peer_sum[i]),
                market_points=float(market[i]),
            )
        )
    return sorted(rows, key=lambda row: row.handle)


def _crowd_row(sweep: _Sweep, outcome: int) -> ScoreRow | None:
    active = sweep.standing_count > 0
    dt = np.diff(sweep.times)[active]
    coverage = float(dt.sum())
    if coverage <= 0:
        return None
    p = sweep.crowd[active]
    q = p if outcome == 1 else 1 - p
    mean_ln_q = sweep.ln_q_sum[active] / sweep.standing_count[active]
    last = float(sweep.crowd[-1])
    standing_at_close = not math.isnan(last)
    return ScoreRow(
        handle=CROWD_HANDLE,
        brier=(last - outcome) ** 2 if standing_at_close else None,
        time_averaged_brier=float(((p - outcome) ** 2 * dt).sum()) / coverage,
        coverage=coverage,
        log_score=math.log(_q(last, outcome)) if standing_at_close else None,
        baseline_score=100 * float((np.log2(2 * q) * dt).sum()),
        peer_score=100 * float(((np.log(q) - mean_ln_q) * dt).sum()),
        market_points=None,
    )


def score_claim(
    events: Sequence[ScoringEvent],
    *,
    opens_at: datetime,
    closes_at: datetime,
    closed_at: datetime,
    outcome: int,
) -> list[ScoreRow]:
    """Score rows of the forecasters with coverage above 0 (by handle), then `@crowd`."""
    ordered, end = prepare_events(
        events, opens_at=opens_at, closes_at=closes_at, closed_at=closed_at, outcome=outcome
    )
    if not ordered:
        return []
    window = {"opens_at": opens_at, "closes_at": closes_at}
    times = [window_fraction(event.at, **window) for event in ordered]
    times.append(window_fraction(end, **window))
    sweep = _sweep(ordered, times, outcome)
    crowd = _crowd_row(sweep, outcome)
    rows = _forecaster_rows(sweep, outcome)
    return rows if crowd is None else [*rows, crowd]
