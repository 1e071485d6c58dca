"""The weighted median over explicit weights: an oracle for the crowd's recency median."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd import _median

_Floats = npt.NDArray[np.float64]


def weighted_median(
    values: Sequence[float] | _Floats, weights: Sequence[float] | _Floats
) -> float | None:
    """The value where the cumulative weight, in value order, first reaches half the total.

    When it lands on half (within HALF_TOLERANCE of the total) the result is the mean of that
    value and the next one. Equal values keep their given order, which settles every tie.
    """
    if len(values) != len(weights):
        raise ValueError("values and weights differ in length")
    if len(values) == 0:
        return None
    mass = np.asarray(weights, dtype=np.float64)
    if not (np.all(mass >= 0) and mass.sum() > 0):
        raise ValueError("weights must be non-negative with a positive total")
    return _median(np.asarray(values, dtype=np.float64), mass)
