"""SPEC §7's scores of multiple-choice, numeric and date claims, as terms of the one sweep.

`scoring.sweep_claim` integrates whatever each event's forecast gives (its q, its loss, its
baseline integrand); this module says what that is for each kind, and computes the crowd
of each kind after every event, so that every kind goes through the same vectorised sweep.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd import recency_weights
from forecasts.score_math.crowd_batches import crowd_after_each, next_event_of_same_owner
from forecasts.score_math.distributions import (
    GRID,
    N_BINS,
    Scale,
    outcome_bucket,
    reference_pmf,
)
from forecasts.score_math.scoring import Rules, Terms

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]
_H = 1.0 / N_BINS


def mc_terms(probabilities: _Floats, outcome: int) -> Terms:
    """Terms of multiple-choice forecasts (rows of K probabilities; NaN rows: withdrawals)."""
    options = probabilities.shape[1]
    hit = np.zeros(options)
    hit[outcome] = 1.0
    q = probabilities[:, outcome]
    return Terms(
        q=q,
        loss=((probabilities - hit) ** 2).sum(axis=1) / 2,
        # log2(q K) / log2 K: with K = 2 the binary claim's log2(2 q) to the last bit
        baseline=np.log2(q * options) / np.log2(options),
    )


def mc_rules(options: int) -> Rules:
    return Rules(market_prior=1.0 / options)


def crps(cdfs: _Floats, u_star: float) -> _Floats:
    """∫₀¹ (F(u) - 1{u >= u*})² du of each row, F linear between the grid points, exactly."""
    a, b = cdfs[:, :-1], cdfs[:, 1:]
    low, high = GRID[:-1], GRID[1:]
    below = _H * (a * a + a * b + b * b) / 3  # ∫ F² over a whole segment
    a1, b1 = a - 1, b - 1
    above = _H * (a1 * a1 + a1 * b1 + b1 * b1) / 3  # ∫ (F - 1)² over a whole segment
    whole: _Floats = np.where(high <= u_star, below, np.where(low >= u_star, above, 0.0)).sum(
        axis=1
    )
    split = np.flatnonzero((low < u_star) & (u_star < high))
    if not split.size:
        return whole
    i = int(split[0])
    left, right = u_star - low[i], high[i] - u_star
    ai, bi = a[:, i], b[:, i]
    m = ai + (bi - ai) * left / _H  # F(u*)
    m1, bi1 = m - 1, bi - 1
    part: _Floats = left * (ai * ai + ai * m + m * m) / 3
    part += right * (m1 * m1 + m1 * bi1 + bi1 * bi1) / 3
    return whole + part


def numeric_terms(scale: Scale, cdfs: _Floats, outcome: float) -> Terms:
    """Terms of numeric or date forecasts (rows of N + 1 CDF values; NaN rows: withdrawals)."""
    bucket = outcome_bucket(scale, outcome)
    ref = float(reference_pmf(scale)[bucket])
    if bucket == 0:
        q = cdfs[:, 0]
    elif bucket == N_BINS + 1:
        q = 1 - cdfs[:, -1]
    else:
        q = cdfs[:, bucket] - cdfs[:, bucket - 1]
    u_star = min(max(scale.u(outcome), 0.0), 1.0)
    return Terms(q=q, loss=crps(cdfs, u_star), baseline=np.log(q / ref) / 2)


def numeric_rules(scale: Scale, outcome: float) -> Rules:
    ref = float(reference_pmf(scale)[outcome_bucket(scale, outcome)])
    return Rules(market_prior=ref, peer_factor=0.5)


def mc_crowd_after_each(
    owners: _Ints, probabilities: _Floats, bounds: Sequence[int] | _Ints | None = None
) -> _Floats:
    """The multiple-choice crowd after each event (rows; NaN while nobody stands).

    Each option's column goes through the binary crowd's vectorised median (the same rule
    to the last bit), then each row is divided by its sum. Columns a claim does not have
    hold 0 (and NaN at withdrawals), so their median is 0.
    """
    medians = np.column_stack(
        [
            crowd_after_each(owners, probabilities[:, k], bounds)
            for k in range(probabilities.shape[1])
        ]
    )
    total: _Floats = medians.sum(axis=1, keepdims=True)
    return medians / total


def numeric_crowd_after_each(owners: _Ints, cdfs: _Floats) -> _Floats:
    """The numeric or date crowd after each event of one claim: the recency-weighted mean of
    the standing CDFs (rows; NaN while nobody stands)."""
    count = len(owners)
    crowd = np.full(cdfs.shape, np.nan)
    forecasts = np.flatnonzero(~np.isnan(cdfs[:, 0]))
    if not forecasts.size:
        return crowd
    ends = next_event_of_same_owner(owners)[forecasts]
    rows = np.arange(count)[:, None]
    standing = (forecasts[None, :] <= rows) & (ends[None, :] > rows)
    rank = np.cumsum(standing, axis=1)  # 1 = the oldest standing forecast
    size = rank[:, -1]
    table = np.zeros((int(size.max()) + 1, int(size.max()) + 1))
    for n in range(1, len(table)):
        table[n, 1 : n + 1] = recency_weights(n)
    weights = np.where(standing, table[size[:, None], rank], 0.0)
    total = weights.sum(axis=1)
    some = total > 0
    crowd[some] = (weights[some] @ cdfs[forecasts]) / total[some, None]
    return crowd
