"""Distributions of SPEC §7: the internal scale, stored CDFs, buckets, quantiles and crowds.

Pure functions over plain values and numpy arrays. A numeric or date forecast is a CDF of
N + 1 values on the internal scale u = i / N; a multiple-choice one is a probability per
option. Bad input raises `ValueError` with a reason a 422 can show.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd import recency_weighted_median, recency_weights

N_BINS = 200
GRID = np.arange(N_BINS + 1, dtype=np.float64) / N_BINS  # u_i = i / N

OPEN_TAIL = 0.001  # F_0 at least this on an open lower bound; 1 - F_N on an open upper one
MIN_STEP = 0.01 / N_BINS  # each F_i - F_{i-1}
REF_TAIL = 0.05  # the reference distribution's mass outside an open bound
_UNITS = 10**10  # the stored CDF's decimals, as integers
_MIN_STEP_UNITS = round(MIN_STEP * _UNITS)
_OPEN_TAIL_UNITS = round(OPEN_TAIL * _UNITS)
_NEAR_HALF = 1e-5  # of a unit: far above x * 1e10's rounding error (2**-20) for |x| <= 1
QUANTILE_PAIRS = (2, 10)

_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scale:
    """A numeric or date claim's range (dates as Unix seconds) and how u maps to it."""

    range_min: float
    range_max: float
    log_scale: bool = False
    open_lower: bool = True
    open_upper: bool = True

    def __post_init__(self) -> None:
        if not self.range_min < self.range_max:
            raise ValueError("range_min must be below range_max")
        if self.log_scale and self.range_min <= 0:
            raise ValueError("a log scale needs range_min > 0")

    def u(self, x: float) -> float:
        """Where x lies on the internal scale (0 at range_min, 1 at range_max).

        On a log scale x <= 0 lies below the range: -inf.
        """
        if not self.log_scale:
            return (x - self.range_min) / (self.range_max - self.range_min)
        ratio = x / self.range_min
        if ratio <= 0:  # x <= 0, or so far below range_min that the ratio underflows
            return -math.inf
        return math.log(ratio) / math.log(self.range_max / self.range_min)

    def x(self, u: float) -> float:
        """The real value at u (geometric on a log scale)."""
        if not self.log_scale:
            return self.range_min + u * (self.range_max - self.range_min)
        return self.range_min * math.exp(u * math.log(self.range_max / self.range_min))

    def ends(self) -> tuple[float, float]:
        """The stored CDF's F_0 offset a and top b for quantile input (SPEC §7)."""
        return (OPEN_TAIL if self.open_lower else 0.0, 1 - OPEN_TAIL if self.open_upper else 1.0)


def round_cdf(values: Sequence[float] | _Floats) -> list[float]:
    """Each value rounded to 10 decimals, as Python's round does (half to even, exactly).

    In one numpy pass rather than 201 calls of round: for |x| <= 1, x * 1e10 is within 2**-20
    of its exact value, so its nearest integer k is the exact rounding unless the fraction
    lies within `_NEAR_HALF` of a half; k / 1e10 is then the double nearest the rounded
    decimal, which is what round returns. Values near a half, above 1 or not finite (rare,
    and refused later) go through round itself.
    """
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # those values are among the odd ones
        scaled = x * _UNITS
        units = np.rint(scaled)
        rounded = units / _UNITS
        odd = ~(np.abs(x) <= 1) | (np.abs(np.abs(scaled - units) - 0.5) < _NEAR_HALF)
    for i in np.flatnonzero(odd).tolist():
        rounded[i] = round(float(x[i]), 10)
    result: list[float] = rounded.tolist()
    return result


def cdf_problem(scale: Scale, cdf: Sequence[float] | _Floats) -> str | None:
    """Why this (rounded) CDF is refused, or None when it is valid."""
    if len(cdf) != N_BINS + 1:
        return f"a CDF has {N_BINS + 1} values, not {len(cdf)}"
    values = np.asarray(cdf, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return "every CDF value must be a finite number"
    # Rounded values have at most 10 decimals, so value * 1e10 is an integer to within ulps.
    units = np.rint(values * _UNITS).astype(np.int64)
    if scale.open_lower and units[0] < _OPEN_TAIL_UNITS:
        return f"F_0 must be at least {OPEN_TAIL} when the lower bound is open"
    if not scale.open_lower and units[0] != 0:
        return "F_0 must be 0 when the lower bound is closed"
    if scale.open_upper and units[-1] > _UNITS - _OPEN_TAIL_UNITS:
        return f"F_{N_BINS} must be at most {1 - OPEN_TAIL} when the upper bound is open"
    if not scale.open_upper and units[-1] != _UNITS:
        return f"F_{N_BINS} must be 1 when the upper bound is closed"
    steps = np.diff(units)
    if np.any(steps < _MIN_STEP_UNITS):
        i = int(np.flatnonzero(steps < _MIN_STEP_UNITS)[0]) + 1
        return f"F_{i} - F_{i - 1} must be at least {MIN_STEP}"
    return None


def checked_cdf(scale: Scale, cdf: Sequence[float] | _Floats) -> list[float]:
    """The CDF rounded to 10 decimals; ValueError with the reason if it is refused."""
    if len(cdf) != N_BINS + 1:
        raise ValueError(f"a CDF has {N_BINS + 1} values, not {len(cdf)}")
    rounded = round_cdf(cdf)
    problem = cdf_problem(scale, rounded)
    if problem is not None:
        raise ValueError(problem)
    return rounded


def _quantile_problem(scale: Scale, pairs: Sequence[tuple[float, float]]) -> str | None:
    low, high = QUANTILE_PAIRS
    if not low <= len(pairs) <= high:
        return f"give {low} to {high} quantiles"
    levels = [q for q, _ in pairs]
    xs = [x for _, x in pairs]
    if not all(0 < q < 1 for q in levels):
        return "each quantile level must lie strictly between 0 and 1"
    if any(b <= a for a, b in pairwise(levels)):
        return "quantile levels must be strictly increasing"
    if any(b <= a for a, b in pairwise(xs)):
        return "quantile values must be strictly increasing"
    if not all(math.isfinite(x) for x in xs):
        return "quantile values must be finite"
    if scale.log_scale and xs[0] <= 0:
        return "quantile values must be above 0 on a log scale"
    if not scale.open_lower and xs[0] < scale.range_min:
        return "a quantile value lies below range_min, and the lower bound is closed"
    if not scale.open_upper and xs[-1] > scale.range_max:
        return "a quantile value lies above range_max, and the upper bound is closed"
    us = [scale.u(x) for x in xs]
    # values far outside the range, or too close together for floats to tell apart on the
    # internal scale, leave no segment to draw G along (a slope of 0/0, or infinite)
    if not all(math.isfinite(u) for u in us) or not all(
        b > a and math.isfinite(1 / (b - a)) for a, b in pairwise(us)
    ):
        return "quantile values must be distinct points of the claim's scale, not this far out"
    return None


def cdf_from_quantiles(scale: Scale, pairs: Sequence[tuple[float, float]]) -> list[float]:
    """The stored CDF for quantiles (level, x in real units), rounded and validated (§7)."""
    problem = _quantile_problem(scale, pairs)
    if problem is not None:
        raise ValueError(problem)
    points = [(scale.u(x), q) for q, x in pairs]
    if not scale.open_lower and points[0][0] > 0:
        points.insert(0, (0.0, 0.0))
    if not scale.open_upper and points[-1][0] < 1:
        points.append((1.0, 1.0))
    us = np.array([u for u, _ in points])
    qs = np.array([q for _, q in points])
    # Segment j runs from point j to j + 1; below the first point and above the last the
    # nearest segment goes on (only open sides have room there: closed ones end at 0 and 1).
    segment = np.clip(np.searchsorted(us, GRID, side="right") - 1, 0, len(us) - 2)
    u0, u1, q0, q1 = us[segment], us[segment + 1], qs[segment], qs[segment + 1]
    with np.errstate(over="ignore"):  # a steep slope far from its segment: clipped anyway
        g = np.clip(q0 + (q1 - q0) * (GRID - u0) / (u1 - u0), 0.0, 1.0)
    if not scale.open_lower:
        g[0] = 0.0
    if not scale.open_upper:
        g[-1] = 1.0
    a, b = scale.ends()
    return checked_cdf(scale, a + (b - a) * (0.98 * g + 0.02 * GRID))


def pmf(cdf: Sequence[float] | _Floats) -> _Floats:
    """Probability per bucket (N + 2): below the range, the N bins, above the range."""
    values = np.asarray(cdf, dtype=np.float64)
    return np.concatenate((values[:1], np.diff(values), 1 - values[-1:]))


def outcome_bucket(scale: Scale, x: float) -> int:
    """The bucket (0 … N + 1) an outcome falls in (SPEC §7)."""
    u = scale.u(x)
    if u < 0:
        return 0
    if u > 1:
        return N_BINS + 1
    if u == 1:
        return N_BINS
    return max(math.floor(u * N_BINS + 1 - 1e-10), 1)


def reference_pmf(scale: Scale) -> _Floats:
    """The reference distribution of baseline scores and the market's prior, per bucket."""
    open_bounds = int(scale.open_lower) + int(scale.open_upper)
    ref = np.full(N_BINS + 2, (1 - REF_TAIL * open_bounds) / N_BINS)
    ref[0] = REF_TAIL if scale.open_lower else 0.0
    ref[-1] = REF_TAIL if scale.open_upper else 0.0
    return ref


def reference_cdf(scale: Scale) -> list[float]:
    """The reference distribution as a CDF (the market before any forecast), rounded like a
    stored one: a running sum of `reference_pmf` drifts past 1 (1.0000000000000022)."""
    return round_cdf(np.cumsum(reference_pmf(scale)[:-1]))


def cdf_quantile(scale: Scale, cdf: Sequence[float] | _Floats, level: float) -> float | None:
    """x where F equals the level (F linear between the points, so geometric on a log
    scale); None below F_0 or above F_N."""
    values = np.asarray(cdf, dtype=np.float64)
    if level < values[0] or level > values[-1]:
        return None
    i = int(np.searchsorted(values, level, side="left"))
    if i == 0:
        return scale.x(0.0)
    low, high = float(values[i - 1]), float(values[i])
    return scale.x((i - 1 + (level - low) / (high - low)) / N_BINS)


def pit(scale: Scale, cdf: Sequence[float] | _Floats, x: float) -> float:
    """The probability integral transform of outcome x under the CDF (SPEC §7's profiles)."""
    return float(pits(scale, np.asarray(cdf, dtype=np.float64)[None, :], x)[0])


def pits(scale: Scale, cdfs: _Floats, x: float) -> _Floats:
    """`pit` of each row of CDFs: F(u_o) linear between the points, F_0 / 2 below the range,
    (1 + F_N) / 2 above."""
    u = scale.u(x)
    result: _Floats
    if u < 0:
        result = cdfs[:, 0] / 2
        return result
    if u > 1:
        result = (1 + cdfs[:, -1]) / 2
        return result
    i = min(int(u * N_BINS), N_BINS - 1)
    fraction = (u - GRID[i]) * N_BINS
    below: _Floats = cdfs[:, i]
    result = below + (cdfs[:, i + 1] - below) * fraction
    return result


def normalise(probabilities: Sequence[float]) -> list[float]:
    """Probabilities divided by their sum (a multiple-choice forecast as stored)."""
    total = math.fsum(probabilities)
    if not total > 0 or not math.isfinite(total):
        raise ValueError("probabilities must have a positive, finite sum")
    return [p / total for p in probabilities]


def mc_crowd(standing: Sequence[Sequence[float]]) -> list[float] | None:
    """The multiple-choice crowd of standing forecasts given oldest first (§7): each option's
    recency-weighted median, divided by their sum; None if nothing stands."""
    if not standing:
        return None
    columns = np.asarray(standing, dtype=np.float64).T
    medians = [recency_weighted_median(column.tolist()) or 0.0 for column in columns]
    total = sum(medians)
    return [m / total for m in medians]


def numeric_crowd(standing: Sequence[Sequence[float]] | _Floats) -> _Floats | None:
    """The numeric or date crowd of standing CDFs given oldest first (§7): their
    recency-weighted mean, not rounded; None if nothing stands."""
    if not len(standing):
        return None
    cdfs = np.asarray(standing, dtype=np.float64)
    weights = recency_weights(len(cdfs))
    mean: _Floats = weights @ cdfs / weights.sum()
    return mean
