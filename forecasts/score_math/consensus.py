"""A claimant's figures (SPEC §8) as pure functions: the crowd's time-averaged view of their
side, and the means over their resolved claims."""

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from forecasts.score_math.batch_scoring import ClaimBatch
from forecasts.score_math.crowd_batches import crowd_after_each
from forecasts.score_math.distributions import mc_crowd

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
Timeline = list[tuple[datetime, float | None]]  # (moment, the crowd's value from then on)


def step_means(
    at: _Ints, values: _Floats, bounds: _Ints, opens_at: _Ints, closed_at: _Ints
) -> _Floats:
    """For each claim, ∫ c(t) dt / (the time c exists) over [T0, Tc]: c is a step function
    taking `values[k]` (NaN: none) at `at[k]` (microseconds, in time order within a claim,
    claim i's steps `bounds[i]` to `bounds[i + 1]`) until its next step or Tc. NaN for a claim
    where c never exists there."""
    count = len(bounds) - 1
    claim = np.repeat(np.arange(count), np.diff(bounds))
    following = np.append(at[1:], 0)
    last = bounds[1:][np.diff(bounds) > 0] - 1
    following[last] = closed_at[claim[last]]
    lo = np.maximum(at, opens_at[claim])
    hi = np.minimum(following, closed_at[claim])
    span = np.where(np.isnan(values), 0, np.clip(hi - lo, 0, None)).astype(np.float64)
    total = np.bincount(claim, weights=np.nan_to_num(values) * span, minlength=count)
    covered = np.bincount(claim, weights=span, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        means: _Floats = np.where(covered > 0, total / covered, np.nan)
    return means


def mean_crowds(batch: ClaimBatch) -> _Floats:
    """The crowd's time-averaged probability of yes over [T0, Tc] of each claim of the batch
    (only forecasts before Tc count, as in scoring), NaN where it has no crowd."""
    claim = np.repeat(np.arange(len(batch)), np.diff(batch.bounds))
    end = np.minimum(batch.closed_at, batch.closes_at)
    kept = np.flatnonzero(batch.at < end[claim])
    kept = kept[np.lexsort((batch.seq[kept], batch.at[kept], claim[kept]))]
    bounds = np.searchsorted(claim[kept], np.arange(len(batch) + 1))
    # owners must not be shared between claims: one per (claim, forecaster)
    width = int(batch.forecaster.max(initial=0)) + 1
    _, owner = np.unique(claim[kept] * width + batch.forecaster[kept], return_inverse=True)
    crowd = crowd_after_each(owner, batch.probability[kept], bounds)
    return step_means(batch.at[kept], crowd, bounds, batch.opens_at, end)


def side(mean: float | None, *, asserts: bool) -> float | None:
    """`consensus` from the crowd's mean probability of yes (or of the option)."""
    if mean is None or math.isnan(mean):
        return None
    return mean if asserts else 1 - mean


def option_timeline(
    events: Sequence[tuple[Hashable, datetime, int, Sequence[float] | None]],
    option: int,
    *,
    closed_at: datetime,
) -> Timeline:
    """The multiple-choice crowd's probability of one option (its index in the options) after
    each event (owner, time, ledger seq, probabilities or None for a withdrawal) before Tc."""
    standing: dict[Hashable, Sequence[float]] = {}  # oldest first, as events come in order
    timeline: Timeline = []
    for owner, at, _seq, values in sorted(events, key=lambda event: (event[1], event[2])):
        if at >= closed_at:
            break
        standing.pop(owner, None)
        if values is not None:
            standing[owner] = values
        crowd = mc_crowd(list(standing.values()))
        timeline.append((at, None if crowd is None else crowd[option]))
    return timeline


@dataclass(frozen=True)
class Counted:
    """One resolved claim as the figures see it."""

    hit: bool  # o
    consensus: float | None
    stated_probability: float | None
    happened: bool  # y: the claim resolved yes, or to the claimant's option


@dataclass(frozen=True)
class Figures:
    claims_resolved: int
    hit_rate: float | None
    mean_consensus: float | None
    yield_: float | None
    brier: float | None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def figures(claims: Sequence[Counted]) -> Figures:
    """hit rate, mean consensus, yield (o / consensus) and Brier of the stated probabilities,
    each a mean over the claims where it is defined (None over none)."""
    with_consensus = [c for c in claims if c.consensus is not None]
    return Figures(
        claims_resolved=len(claims),
        hit_rate=_mean([float(c.hit) for c in claims]),
        mean_consensus=_mean([c.consensus for c in with_consensus if c.consensus is not None]),
        yield_=_mean([c.hit / c.consensus for c in with_consensus if c.consensus is not None]),
        brier=_mean(
            [
                (c.stated_probability - c.happened) ** 2
                for c in claims
                if c.stated_probability is not None
            ]
        ),
    )
