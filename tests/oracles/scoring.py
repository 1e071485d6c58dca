"""One claim's score rows by handle: the shape the examples and the naive oracle speak.

Production scores many claims at once (`forecasts.score_math.batch_scoring`); this reads one
claim through the same sweep, so the tests can hold the sweep to SPEC §4's worked examples.
"""

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from forecasts.score_math.scoring import (
    ClaimScores,
    ScoreRow,
    ScoringEvent,
    _owner_columns,
    _q,
    prepare_events,
    sweep_claim,
    window_fraction,
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
    owners, probabilities = _owner_columns(ordered)
    scores = sweep_claim(owners, np.array(times), probabilities, outcome)
    return forecaster_rows(scores, sorted({event.handle for event in ordered}), outcome)


def forecaster_rows(scores: ClaimScores, handles: Sequence[str], outcome: int) -> list[ScoreRow]:
    """The rows of the forecasters with coverage, in index order, then `@crowd`'s."""
    rows = []
    columns = (
        scores.coverage,
        scores.time_averaged_brier,
        scores.baseline_score,
        scores.peer_score,
        scores.market_points,
        scores.final,
    )
    covered = np.flatnonzero(scores.coverage > 0)
    picked = [column[covered].tolist() for column in columns]
    for i, coverage, tab, baseline, peer, market, last in zip(covered, *picked, strict=True):
        standing = not math.isnan(last)
        rows.append(
            ScoreRow(
                handle=handles[i],
                brier=(last - outcome) ** 2 if standing else None,
                time_averaged_brier=tab,
                coverage=coverage,
                log_score=math.log(_q(last, outcome)) if standing else None,
                baseline_score=baseline,
                peer_score=peer,
                market_points=market,
            )
        )
    return rows if scores.crowd is None else [*rows, scores.crowd]
