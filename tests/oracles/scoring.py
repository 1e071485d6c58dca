"""One claim's score rows by handle: the shape the examples and the naive oracles speak.

Production scores many claims at once (`forecasts.score_math.batch_scoring`); this reads one
claim through the same `score_batch`, so the tests can hold it to the worked examples.
"""

import math
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from forecasts.score_math.batch_scoring import (
    BINARY,
    CROWD,
    MULTIPLE_CHOICE,
    NUMERIC,
    ClaimBatch,
    ScoreColumns,
    score_batch,
)
from forecasts.score_math.distributions import Scale
from forecasts.score_math.scoring import CROWD_HANDLE, ScoreRow, ScoringEvent, prepare_events

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROW_FIELDS = [f.name for f in fields(ScoreRow) if f.name != "handle"]
EXAMPLE_TOLERANCE = 1e-9


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def score_claim(
    events: Sequence[ScoringEvent],
    *,
    opens_at: datetime,
    closes_at: datetime,
    closed_at: datetime,
    outcome: int,
) -> list[ScoreRow]:
    """Score rows of the forecasters with coverage above 0 (by handle), then `@crowd`."""
    prepare_events(
        events, opens_at=opens_at, closes_at=closes_at, closed_at=closed_at, outcome=outcome
    )
    return rows_of_one_claim(
        [
            (e.handle, e.at, e.seq, None if e.probability is None else [e.probability])
            for e in events
        ],
        opens_at=opens_at,
        closes_at=closes_at,
        closed_at=closed_at,
        outcome=outcome,
    )[0]


KindEventTuple = tuple[str, datetime, int, Sequence[float] | None]


def rows_of_one_claim(
    events: Sequence[KindEventTuple],
    *,
    opens_at: datetime,
    closes_at: datetime,
    closed_at: datetime,
    outcome: int,
    options: int | None = None,
    scale: Scale | None = None,
    outcome_value: float = 0.0,
) -> tuple[list[ScoreRow], ScoreColumns, list[str]]:
    """One claim of any kind through `score_batch`: rows by handle then `@crowd`, the columns.

    Events: (handle, at, seq, distribution or None for a withdrawal); a binary event's
    distribution is [p]; `options` makes it multiple choice, `scale` numeric.
    """
    handles = sorted({handle for handle, *_ in events})
    kind = (
        BINARY
        if options is None and scale is None
        else MULTIPLE_CHOICE
        if scale is None
        else NUMERIC
    )
    width = 1 if kind == BINARY else (options or 0) if kind == MULTIPLE_CHOICE else 201
    values = np.array(
        [[np.nan] * width if d is None else list(d) for *_, d in events], dtype=np.float64
    ).reshape(len(events), width)
    batch = ClaimBatch(
        opens_at=np.array([_micros(opens_at)]),
        closes_at=np.array([_micros(closes_at)]),
        closed_at=np.array([_micros(closed_at)]),
        outcome=np.array([outcome]),
        bounds=np.array([0, len(events)]),
        forecaster=np.array([handles.index(e[0]) for e in events], dtype=np.int64),
        at=np.array([_micros(e[1]) for e in events], dtype=np.int64),
        seq=np.array([e[2] for e in events], dtype=np.int64),
        probability=values[:, 0] if kind == BINARY else np.full(len(events), np.nan),
        kind=kind,
        distribution=None if kind == BINARY else values,
        options=None if options is None else np.array([options]),
        scales=() if scale is None else (scale,),
        outcome_value=np.array([outcome_value]),
    )
    columns = score_batch(batch)
    rows = [
        ScoreRow(
            handle=CROWD_HANDLE if who == CROWD else handles[who],
            **{name: getattr(columns, name)[k] for name in _ROW_FIELDS},
        )
        for k, who in enumerate(columns.forecaster)
    ]
    return rows, columns, handles


def assert_example_rows(name: str, rows: Sequence[Any], scores: dict[str, Any]) -> None:
    """Rows (anything with a `handle` and the score fields) hold every figure of an example's
    `scores` to 1e-9; fields the example does not give (binary claims' CRPS) are None."""
    by_handle = {row.handle: row for row in rows}
    assert len(by_handle) == len(rows)
    assert set(by_handle) == set(scores)
    for handle, expected in scores.items():
        assert set(expected) <= set(_ROW_FIELDS), "the example has fields the row lacks"
        for field in _ROW_FIELDS:
            got = getattr(by_handle[handle], field)
            want = expected.get(field)
            where = f"{name}: {handle}.{field}"
            if want is None:
                assert got is None, where
            else:
                assert math.isclose(got, want, rel_tol=0, abs_tol=EXAMPLE_TOLERANCE), (where, got)
