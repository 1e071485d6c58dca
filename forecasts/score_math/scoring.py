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
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd import MARKET_PRIOR
from forecasts.score_math.crowd_batches import crowd_after_each, next_event_of_same_owner

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
    time_averaged_brier: float | None  # None on numeric and date claims
    coverage: float
    log_score: float | None
    baseline_score: float
    peer_score: float
    market_points: float | None
    crps: float | None = None  # numeric and date claims only (SPEC §7)
    time_averaged_crps: float | None = None


# The SPEC §4 figures of a score row, in the order they are stored and shown: ScoreRow's
# fields after the handle. The score writer's columns, the profile's read, the record check
# and the API's score fields are made from this list.
SCORE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ScoreRow))[1:]


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
    if closed_at is not None:
        ordered = [event for event in ordered if event.at < closed_at]
    owners, probabilities = _owner_columns(ordered)
    crowd = crowd_after_each(owners, probabilities).tolist()
    return [
        (event.at, None if math.isnan(c) else c) for event, c in zip(ordered, crowd, strict=True)
    ]


@dataclass(frozen=True)
class Terms:
    """What each event's forecast (or the crowd after each event) gives the scores, by kind.

    NaN at a withdrawal (or while nobody stands). `q`: the probability of what happened;
    `loss`: the Brier score (binary, multiple choice) or the CRPS (numeric, date);
    `baseline`: the baseline score's integrand before the factor 100.
    """

    q: _Floats
    loss: _Floats
    baseline: _Floats


@dataclass(frozen=True)
class Rules:
    """A kind's constants: the market's q before any forecast, and the peer score's factor."""

    market_prior: float = MARKET_PRIOR
    peer_factor: float = 1.0


def binary_terms(probabilities: _Floats, outcome: int) -> Terms:
    """SPEC §4's terms of binary forecasts (or crowd probabilities)."""
    q = probabilities if outcome == 1 else 1 - probabilities
    return Terms(q=q, loss=(probabilities - outcome) ** 2, baseline=np.log2(2 * q))


@dataclass(frozen=True)
class Figures:
    """One forecaster's or the crowd's figures on a claim; `loss` is Brier or CRPS by kind."""

    loss: float | None  # at Tc; None with nothing standing then
    time_averaged_loss: float
    coverage: float
    log_score: float | None
    baseline_score: float
    peer_score: float


@dataclass(frozen=True)
class ClaimScores:
    """One claim's scores as columns, indexed by forecaster (0 … F - 1), and the crowd's.

    A forecaster has a row where `coverage` > 0; `final` is the index of the event whose
    forecast stands at Tc (-1 if none), from which `brier`, `crps` and `log_score` follow.
    """

    coverage: _Floats
    time_averaged_loss: _Floats  # NaN where coverage is 0
    baseline_score: _Floats
    peer_score: _Floats
    market_points: _Floats
    final: npt.NDArray[np.int64]
    crowd: Figures | None


def sweep_claim(
    owners: npt.NDArray[np.int64],
    times: _Floats,
    terms: Terms,
    crowd: Terms,
    rules: Rules = Rules(),
) -> ClaimScores:
    """Scores from events in ledger order before Tc, as columns, in one vectorised sweep.

    `owners`: forecaster indices 0 … F - 1; `times`: each event's time in units of the
    window, not before 0, then Tc's; `terms`: each event's (NaN for a withdrawal); `crowd`:
    the crowd's after each event (`crowd_after_each` does many claims at once).
    """
    sweep = _sweep(owners, times, terms, rules)
    forecasters = int(owners.max()) + 1 if len(owners) else 0
    columns = _forecaster_columns(sweep, terms, rules, forecasters)
    return ClaimScores(*columns, crowd=_crowd_figures(sweep, crowd, rules) if len(owners) else None)


@dataclass
class _Sweep:
    """What one pass over the events records (index k: the segment after event k)."""

    times: _Floats  # event times, then Tc; segment k runs from times[k] to times[k + 1]
    standing_count: npt.NDArray[np.int64]
    ln_q_sum: _Floats
    stint_handle: npt.NDArray[np.int64]
    stint_start: npt.NDArray[np.int64]
    stint_end: npt.NDArray[np.int64]
    market_points: _Floats
    final: npt.NDArray[np.int64]  # by forecaster: the event standing at Tc, -1 if none


def _q(probability: float, outcome: int) -> float:
    return probability if outcome == 1 else 1 - probability


def _sweep(owners: npt.NDArray[np.int64], times: _Floats, terms: Terms, rules: Rules) -> _Sweep:
    count = len(owners)
    following = next_event_of_same_owner(owners)  # where each forecast's stint ends
    q = terms.q
    forecast = ~np.isnan(q)
    ends_stint = np.zeros(count, dtype=bool)  # the event replaces or withdraws a forecast
    ends_stint[following[forecast & (following < count)]] = True
    previous = np.zeros(count, dtype=np.int64)
    previous[following[following < count]] = np.flatnonzero(following < count)
    standing = np.cumsum(forecast.astype(np.int64) - ends_stint)
    ln_q = np.array([math.log(x) for x in q.tolist()])  # math.log, as the running sum had
    forecasts = np.flatnonzero(forecast)
    market_before = np.concatenate(([rules.market_prior], q[forecasts][:-1]))
    final = np.full(int(owners.max()) + 1 if count else 0, -1, dtype=np.int64)
    last = (following == count) & forecast
    final[owners[last]] = np.flatnonzero(last)
    return _Sweep(
        times=times,
        standing_count=standing,
        ln_q_sum=_running_ln_q(ln_q, previous, forecast, ends_stint, standing),
        stint_handle=owners[forecasts],
        stint_start=forecasts,
        stint_end=following[forecasts],
        market_points=100 * np.log2(q[forecasts] / market_before),
        final=final,
    )


def _running_ln_q(
    ln_q: _Floats,
    previous: npt.NDArray[np.int64],
    forecast: npt.NDArray[np.bool_],
    ends_stint: npt.NDArray[np.bool_],
    standing: npt.NDArray[np.int64],
) -> _Floats:
    """The sum of the standing forecasters' ln q after each event, as a running sum.

    Summed in the order a replay would: per event, minus the ended forecast's ln q, plus the
    new one's, back to exactly 0 whenever nobody stands (so rounding does not linger); the
    cumulative sums of that sequence (0 for a missing term) give the same floats.
    """
    steps = np.zeros((len(ln_q), 2))
    steps[ends_stint, 0] = -ln_q[previous[ends_stint]]
    steps[forecast, 1] = ln_q[forecast]
    flat = steps.ravel()
    sums = np.zeros(len(ln_q))
    empty = np.flatnonzero(standing == 0)
    for start, stop in zip(
        np.concatenate(([0], empty + 1)), np.append(empty, len(ln_q)), strict=True
    ):
        if start < stop:
            sums[start:stop] = np.cumsum(flat[2 * start : 2 * stop])[1::2]
    return sums


def _prefix(values: _Floats) -> _Floats:
    return np.concatenate(([0.0], np.cumsum(values)))


def _sum_by(who: npt.NDArray[np.int64], weights: _Floats, size: int) -> _Floats:
    return np.bincount(who, weights=weights, minlength=size).astype(np.float64)


def _forecaster_columns(
    sweep: _Sweep, terms: Terms, rules: Rules, size: int
) -> tuple[_Floats, _Floats, _Floats, _Floats, _Floats, npt.NDArray[np.int64]]:
    dt = np.diff(sweep.times)
    others = sweep.standing_count - 1
    shared = (others > 0).astype(np.float64)
    per_other = np.divide(1.0, others, out=np.zeros_like(dt), where=others > 0)
    # Running integrals of [n > 1], [n > 1] / (n - 1) and [n > 1] * S / (n - 1) (see the top).
    shared_time = _prefix(shared * dt)
    per_other_time = _prefix(per_other * dt)
    others_ln_q = _prefix(per_other * sweep.ln_q_sum * dt)

    start, stop = sweep.stint_start, sweep.stint_end
    ln_q = np.log(terms.q[start])
    duration = sweep.times[stop] - sweep.times[start]
    weight = shared_time[stop] - shared_time[start] + per_other_time[stop] - per_other_time[start]
    peer = ln_q * weight - (others_ln_q[stop] - others_ln_q[start])

    who = sweep.stint_handle
    coverage = _sum_by(who, duration, size)
    lost = _sum_by(who, terms.loss[start] * duration, size)
    average = np.divide(lost, coverage, out=np.full(size, np.nan), where=coverage > 0)
    baseline = 100 * _sum_by(who, terms.baseline[start] * duration, size)
    peer_sum = 100 * rules.peer_factor * _sum_by(who, peer, size)
    market = _sum_by(who, sweep.market_points, size)
    return coverage, average, baseline, peer_sum, market, sweep.final


def _crowd_figures(sweep: _Sweep, crowd: Terms, rules: Rules) -> Figures | None:
    active = sweep.standing_count > 0
    dt = np.diff(sweep.times)[active]
    coverage = float(dt.sum())
    if coverage <= 0:
        return None
    q = crowd.q[active]
    mean_ln_q = sweep.ln_q_sum[active] / sweep.standing_count[active]
    standing_at_close = bool(sweep.standing_count[-1] > 0)
    return Figures(
        loss=float(crowd.loss[-1]) if standing_at_close else None,
        time_averaged_loss=float((crowd.loss[active] * dt).sum()) / coverage,
        coverage=coverage,
        log_score=math.log(float(crowd.q[-1])) if standing_at_close else None,
        baseline_score=100 * float((crowd.baseline[active] * dt).sum()),
        peer_score=100 * rules.peer_factor * float(((np.log(q) - mean_ln_q) * dt).sum()),
    )


def _owner_columns(ordered: Sequence[ScoringEvent]) -> tuple[npt.NDArray[np.int64], _Floats]:
    """Forecaster indices in handle order, and probabilities with NaN for withdrawals."""
    handles = sorted({event.handle for event in ordered})
    index = {handle: i for i, handle in enumerate(handles)}
    owners = np.array([index[event.handle] for event in ordered], dtype=np.int64)
    probabilities = np.array(
        [math.nan if event.probability is None else event.probability for event in ordered],
        dtype=np.float64,
    )
    return owners, probabilities
