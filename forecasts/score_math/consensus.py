"""A claimant's figures (SPEC §8) as pure functions: the crowd's time-averaged view of their
side, and the means over their resolved claims."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from forecasts.score_math.scoring import ScoringEvent, crowd_timeline


def time_average(
    steps: Sequence[tuple[datetime, float | None]], *, start: datetime, end: datetime
) -> float | None:
    """∫ c(t) dt / (the time c exists) over [start, end], for a step function c given as
    (moment it takes the value, value or None) in time order; None if it never exists there."""
    total = covered = 0.0
    for (at, value), following in zip(steps, [*steps[1:], (end, None)], strict=True):
        lo, hi = max(at, start), min(following[0], end)
        if value is None or hi <= lo:
            continue
        span = (hi - lo).total_seconds()
        total += value * span
        covered += span
    return total / covered if covered > 0 else None


def crowd_consensus(
    events: Sequence[ScoringEvent],
    *,
    opens_at: datetime,
    closed_at: datetime,
    asserts: bool,
) -> float | None:
    """`consensus` of a binary claim: the time-averaged crowd probability of yes over
    [T0, Tc] (only forecasts before Tc count), or of no for a claimant who denies it."""
    timeline = crowd_timeline(events, closed_at=closed_at)
    mean = time_average(timeline, start=opens_at, end=closed_at)
    if mean is None:
        return None
    return mean if asserts else 1 - mean


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
