"""Score rows of many resolved claims at once, from column arrays (rescore and settlement).

The math is `forecasts.score_math.scoring.sweep_claim`'s, the same as `score_claim`; what differs is
the packaging. Events arrive as arrays of integers and floats grouped by claim, with no
Python object per event, and rows leave as columns ready for a bulk insert, with no object
per row. Pure, so worker processes can run it.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd_batches import crowd_after_each
from forecasts.score_math.scoring import ClaimScores, sweep_claim

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
CROWD = -1  # the crowd's forecaster index in `ScoreColumns.forecaster`


@dataclass(frozen=True)
class ClaimBatch:
    """Resolved claims and every event on them, as arrays; times in microseconds.

    Claim i's events are `bounds[i]` to `bounds[i + 1]` (in any order). `forecaster` is the
    forecaster's index in handle order, so rows sort by handle when they sort by it.
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

    def __len__(self) -> int:
        return len(self.outcome)

    def part(self, start: int, stop: int) -> "ClaimBatch":
        """Claims start … stop - 1 and their events (views, so cheap to cut and to send)."""
        low, high = int(self.bounds[start]), int(self.bounds[stop])
        events = slice(low, high)
        return ClaimBatch(
            opens_at=self.opens_at[start:stop],
            closes_at=self.closes_at[start:stop],
            closed_at=self.closed_at[start:stop],
            outcome=self.outcome[start:stop],
            bounds=self.bounds[start : stop + 1] - low,
            forecaster=self.forecaster[events],
            at=self.at[events],
            seq=self.seq[events],
            probability=self.probability[events],
        )


@dataclass
class ScoreColumns:
    """Score rows as columns: per claim, the forecasters with coverage by index, then the crowd.

    Undefined fields are None; `claim` is the claim's position in its batch.
    """

    claim: list[int] = field(default_factory=list)
    forecaster: list[int] = field(default_factory=list)  # CROWD for the crowd
    brier: list[float | None] = field(default_factory=list)
    time_averaged_brier: list[float] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)
    log_score: list[float | None] = field(default_factory=list)
    baseline_score: list[float] = field(default_factory=list)
    peer_score: list[float] = field(default_factory=list)
    market_points: list[float | None] = field(default_factory=list)
    probability_at_close: list[float | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.claim)


def score_batch(batch: ClaimBatch) -> ScoreColumns:
    """Every claim's score rows, as `score_claim` gives them, in claim order."""
    if np.any(batch.closes_at <= batch.opens_at):
        raise ValueError("closes_at must be after opens_at")
    if not np.all(np.isin(batch.outcome, (0, 1))):
        raise ValueError("outcome must be 0 or 1")
    given = batch.probability[~np.isnan(batch.probability)]
    if np.any((given <= 0) | (given >= 1)):
        raise ValueError("a probability is not strictly between 0 and 1")
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
    probability = batch.probability[kept]
    crowd = crowd_after_each(owner, probability, bounds)
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
        scores = sweep_claim(
            mine, times, probability[low:high], int(batch.outcome[i]), crowd[low:high]
        )
        forecasters = batch.forecaster[kept[low:high]]
        by_owner = np.empty(int(mine.max()) + 1, dtype=np.int64)
        by_owner[mine] = forecasters
        _append(columns, i, by_owner, scores, int(batch.outcome[i]))
    return columns


def _append(
    out: ScoreColumns, i: int, forecasters: _Ints, scores: ClaimScores, outcome: int
) -> None:
    covered = np.flatnonzero(scores.coverage > 0)
    final = [None if math.isnan(p) else p for p in scores.final[covered].tolist()]
    out.claim.extend([i] * len(covered))
    out.forecaster.extend(forecasters[covered].tolist())
    out.brier.extend([None if p is None else (p - outcome) ** 2 for p in final])
    out.time_averaged_brier.extend(scores.time_averaged_brier[covered].tolist())
    out.coverage.extend(scores.coverage[covered].tolist())
    out.log_score.extend([None if p is None else math.log(p if outcome else 1 - p) for p in final])
    out.baseline_score.extend(scores.baseline_score[covered].tolist())
    out.peer_score.extend(scores.peer_score[covered].tolist())
    out.market_points.extend(scores.market_points[covered].tolist())
    out.probability_at_close.extend(final)
    crowd = scores.crowd
    if crowd is not None:
        out.claim.append(i)
        out.forecaster.append(CROWD)
        out.brier.append(crowd.brier)
        out.time_averaged_brier.append(crowd.time_averaged_brier)
        out.coverage.append(crowd.coverage)
        out.log_score.append(crowd.log_score)
        out.baseline_score.append(crowd.baseline_score)
        out.peer_score.append(crowd.peer_score)
        out.market_points.append(None)
        out.probability_at_close.append(scores.crowd_at_close)
