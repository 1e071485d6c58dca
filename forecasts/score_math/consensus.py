"""A claimant's figures (SPEC §8) as pure functions: the crowd's time-averaged view of their
side, and the means over their resolved claims."""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from forecasts.score_math.distributions import mc_crowd

Timeline = list[tuple[datetime, float | None]]  # (moment, the crowd's value from then on)


def time_average(
    steps: Sequence[tuple[datetime, float | None]], *, start: datetime, end: datetime
) -> float | None:
    """∫ c(t) dt / (the time c exists) over [start, end], for a step function c given as
    (moment it takes the value, value or None) in time order; None if it never exists there."""
    total = covered = 0.0
    ends = [at for at, _ in steps[1:]] + [end] if steps else []
    for (at, value), until in zip(steps, ends, strict=True):
        lo, hi = max(at, start), min(until, end)
        if value is None or hi <= lo:
            continue
        span = (hi - lo).total_seconds()
        total += value * span
        covered += span
    return total / covered if covered > 0 else None


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


def consensus(
    timeline: Timeline, *, opens_at: datetime, closed_at: datetime, asserts: bool
) -> float | None:
    """`consensus`: the crowd's time-averaged probability of yes (or of the option) over
    [T0, Tc] where the crowd exists, or of the opposite for a claimant who denies it."""
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
