"""Score rows of many resolved claims at once, from column arrays (rescore and settlement).

The math is `forecasts.score_math.scoring.sweep_claim`'s, the same as `score_claim`; what differs is
the packaging. Events arrive as arrays of integers and floats grouped by claim, with no
Python object per event, and rows leave as columns ready for a bulk insert, with no object
per row. Pure, so worker processes can run it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd_batches import crowd_after_each
from forecasts.score_math.distributions import Scale, pits
from forecasts.score_math.kind_scoring import (
    mc_crowd_after_each,
    mc_rules,
    mc_terms,
    numeric_crowd_after_each,
    numeric_rules,
    numeric_terms,
)
from forecasts.score_math.scoring import ClaimScores, Figures, Rules, binary_terms, sweep_claim

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
CROWD = -1  # the crowd's forecaster index in `ScoreColumns.forecaster`
BINARY, MULTIPLE_CHOICE, NUMERIC = "binary", "multiple_choice", "numeric"  # dates: numeric


@dataclass(frozen=True)
class ClaimBatch:
    """Resolved claims of one kind and every event on them, as arrays; times in microseconds.

    Claim i's events are `bounds[i]` to `bounds[i + 1]` (in any order). `forecaster` is the
    forecaster's index in handle order, so rows sort by handle when they sort by it.
    Binary claims: `outcome` 0 or 1, `probability` (NaN for a withdrawal). Multiple choice:
    `outcome` the option's index, `options` K per claim, `distribution` a row of
    probabilities per event (0 beyond the claim's K; NaN rows: withdrawals). Numeric and
    date: `scales` and `outcome_value` per claim, `distribution` the CDF per event.
    """

    opens_at: _Ints
    closes_at: _Ints
    closed_at: _Ints  # Tc
    outcome: _Ints
    bounds: _Ints
    forecaster: _Ints
    at: _Ints
    seq: _Ints
    probability: _Floats  # NaN for a withdrawal
    kind: str = BINARY
    distribution: _Floats | None = None
    options: _Ints | None = None
    scales: Sequence[Scale] = ()
    outcome_value: _Floats | None = None

    def __len__(self) -> int:
        return len(self.outcome)

    def part(self, start: int, stop: int) -> "ClaimBatch":
        """Claims start … stop - 1 and their events (views, so cheap to cut and to send)."""
        low, high = int(self.bounds[start]), int(self.bounds[stop])
        events = slice(low, high)
        claims = slice(start, stop)
        return ClaimBatch(
            opens_at=self.opens_at[claims],
            closes_at=self.closes_at[claims],
            closed_at=self.closed_at[claims],
            outcome=self.outcome[claims],
            bounds=self.bounds[start : stop + 1] - low,
            forecaster=self.forecaster[events],
            at=self.at[events],
            seq=self.seq[events],
            probability=self.probability[events],
            kind=self.kind,
            distribution=None if self.distribution is None else self.distribution[events],
            options=None if self.options is None else self.options[claims],
            scales=self.scales[claims],
            outcome_value=None if self.outcome_value is None else self.outcome_value[claims],
        )


@dataclass
class ScoreColumns:
    """Score rows as columns: per claim, the forecasters with coverage by index, then the crowd.

    Undefined fields are None; `claim` is the claim's position in its batch.
    """

    claim: list[int] = field(default_factory=list)
    forecaster: list[int] = field(default_factory=list)  # CROWD for the crowd
    brier: list[float | None] = field(default_factory=list)
    time_averaged_brier: list[float | None] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)
    log_score: list[float | None] = field(default_factory=list)
    baseline_score: list[float] = field(default_factory=list)
    peer_score: list[float] = field(default_factory=list)
    market_points: list[float | None] = field(default_factory=list)
    crps: list[float | None] = field(default_factory=list)
    time_averaged_crps: list[float | None] = field(default_factory=list)
    probability_at_close: list[float | None] = field(default_factory=list)
    pit: list[float | None] = field(default_factory=list)  # numeric and date: F(u_o) at Tc

    def __len__(self) -> int:
        return len(self.claim)


def _check(batch: ClaimBatch) -> None:
    if np.any(batch.closes_at <= batch.opens_at):
        raise ValueError("closes_at must be after opens_at")
    if batch.kind == BINARY:
        if not np.all(np.isin(batch.outcome, (0, 1))):
            raise ValueError("outcome must be 0 or 1")
        given = batch.probability[~np.isnan(batch.probability)]
        if np.any((given <= 0) | (given >= 1)):
            raise ValueError("a probability is not strictly between 0 and 1")
    elif batch.distribution is None:
        raise ValueError(f"a {batch.kind} batch needs its distributions")


def score_batch(batch: ClaimBatch) -> ScoreColumns:
    """Every claim's score rows, as `score_claim` gives them, in claim order."""
    _check(batch)
    # the events before each claim's Tc, in ledger order, claim after claim
    claim = np.repeat(np.arange(len(batch)), np.diff(batch.bounds))
    end = np.minimum(batch.closed_at, batch.closes_at)
    kept = np.flatnonzero(batch.at < end[claim])
    kept = kept[np.lexsort((batch.seq[kept], batch.at[kept], claim[kept]))]
    claim = claim[kept]
    bounds = np.searchsorted(claim, np.arange(len(batch) + 1))
    # one owner per (claim, forecaster), numbered in that order, so by handle within a claim
    _, owner = np.unique(
        claim * (int(batch.forecaster.max(initial=0)) + 1) + batch.forecaster[kept],
        return_inverse=True,
    )
    values = batch.probability[kept] if batch.distribution is None else batch.distribution[kept]
    crowd = _crowds(batch.kind, owner, values, bounds)
    columns = ScoreColumns()
    for i in range(len(batch)):
        low, high = int(bounds[i]), int(bounds[i + 1])
        if low == high:
            continue
        opens, window = int(batch.opens_at[i]), int(batch.closes_at[i] - batch.opens_at[i])
        # (at - T0) / (T1 - T0) of integer microseconds: what the timedelta division gives
        times = np.append(
            np.maximum((batch.at[kept[low:high]] - opens) / window, 0.0),
            max((int(end[i]) - opens) / window, 0.0),
        )
        mine = owner[low:high] - owner[low:high].min()
        claim_crowd = crowd[low:high] if crowd is not None else None
        kind = _ClaimKind(batch, i, values[low:high], mine, claim_crowd)
        scores = sweep_claim(mine, times, kind.terms, kind.crowd_terms, kind.rules)
        forecasters = batch.forecaster[kept[low:high]]
        by_owner = np.empty(int(mine.max()) + 1, dtype=np.int64)
        by_owner[mine] = forecasters
        _append(columns, i, by_owner, scores, kind)
    return columns


def _crowds(kind: str, owner: _Ints, values: _Floats, bounds: _Ints) -> _Floats | None:
    """The crowd after each event of every claim; numeric crowds go claim by claim."""
    if kind == BINARY:
        return crowd_after_each(owner, values, bounds)
    if kind == MULTIPLE_CHOICE:
        return mc_crowd_after_each(owner, values, bounds)
    return None


class _ClaimKind:
    """One claim's terms, its crowd's terms and its rules, by kind; and its extra figures."""

    def __init__(
        self, batch: ClaimBatch, i: int, values: _Floats, owners: _Ints, crowd: _Floats | None
    ) -> None:
        self.kind = batch.kind
        self.values = values
        self.rules = Rules()
        self.scale: Scale | None = None
        self.outcome_value = math.nan
        if self.kind == BINARY:
            assert crowd is not None
            outcome = int(batch.outcome[i])
            self.crowd = crowd
            self.terms, self.crowd_terms = (
                binary_terms(values, outcome),
                binary_terms(crowd, outcome),
            )
        elif self.kind == MULTIPLE_CHOICE:
            assert crowd is not None and batch.options is not None
            k, outcome = int(batch.options[i]), int(batch.outcome[i])
            self.crowd = crowd[:, :k]
            self.terms = mc_terms(values[:, :k], outcome)
            self.crowd_terms = mc_terms(self.crowd, outcome)
            self.rules = mc_rules(k)
        else:
            assert batch.outcome_value is not None
            self.scale, self.outcome_value = batch.scales[i], float(batch.outcome_value[i])
            self.crowd = numeric_crowd_after_each(owners, values)
            self.terms = numeric_terms(self.scale, values, self.outcome_value)
            self.crowd_terms = numeric_terms(self.scale, self.crowd, self.outcome_value)
            self.rules = numeric_rules(self.scale, self.outcome_value)

    def at_close(
        self, values: _Floats, standing: list[bool]
    ) -> tuple[list[float | None], list[float | None]]:
        """probability_at_close (binary) and PIT (numeric) of the forecasts standing at Tc."""
        nothing: list[float | None] = [None] * len(standing)
        if self.kind == BINARY:
            return [
                p if s else None for p, s in zip(values.tolist(), standing, strict=True)
            ], nothing
        if self.scale is None:
            return nothing, nothing
        values_at = pits(self.scale, values, self.outcome_value).tolist()
        return nothing, [v if s else None for v, s in zip(values_at, standing, strict=True)]


def _append(
    out: ScoreColumns, i: int, forecasters: _Ints, scores: ClaimScores, kind: _ClaimKind
) -> None:
    covered = np.flatnonzero(scores.coverage > 0)
    final = scores.final[covered]
    at = np.where(final >= 0, final, 0)
    standing = (final >= 0).tolist()
    loss = [x if s else None for x, s in zip(kind.terms.loss[at].tolist(), standing, strict=True)]
    q = kind.terms.q[at].tolist()
    log = [math.log(x) if s else None for x, s in zip(q, standing, strict=True)]
    averaged: list[float | None] = list(scores.time_averaged_loss[covered].tolist())
    probability, pit_values = kind.at_close(kind.values[at], standing)
    numeric = kind.scale is not None
    nothing: list[float | None] = [None] * len(covered)
    out.claim.extend([i] * len(covered))
    out.forecaster.extend(forecasters[covered].tolist())
    out.brier.extend(nothing if numeric else loss)
    out.time_averaged_brier.extend(nothing if numeric else averaged)
    out.coverage.extend(scores.coverage[covered].tolist())
    out.log_score.extend(log)
    out.baseline_score.extend(scores.baseline_score[covered].tolist())
    out.peer_score.extend(scores.peer_score[covered].tolist())
    out.market_points.extend(scores.market_points[covered].tolist())
    out.crps.extend(loss if numeric else nothing)
    out.time_averaged_crps.extend(averaged if numeric else nothing)
    out.probability_at_close.extend(probability)
    out.pit.extend(pit_values)
    if scores.crowd is not None:
        _append_crowd(out, i, scores.crowd, kind)


def _append_crowd(out: ScoreColumns, i: int, crowd: Figures, kind: _ClaimKind) -> None:
    numeric = kind.scale is not None
    probability, pit_value = kind.at_close(kind.crowd[-1:], [crowd.loss is not None])
    out.claim.append(i)
    out.forecaster.append(CROWD)
    out.brier.append(None if numeric else crowd.loss)
    out.time_averaged_brier.append(None if numeric else crowd.time_averaged_loss)
    out.coverage.append(crowd.coverage)
    out.log_score.append(crowd.log_score)
    out.baseline_score.append(crowd.baseline_score)
    out.peer_score.append(crowd.peer_score)
    out.market_points.append(None)
    out.crps.append(crowd.loss if numeric else None)
    out.time_averaged_crps.append(crowd.time_averaged_loss if numeric else None)
    out.probability_at_close.extend(probability)
    out.pit.extend(pit_value)
