"""The vectorised crowd and batch scoring agree with the plain definitions, to the last bit."""

import math
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import forecasts.score_math.crowd_batches
from forecasts.score_math.batch_scoring import CROWD, ClaimBatch, score_batch
from forecasts.score_math.crowd import recency_weighted_median, recency_weights
from forecasts.score_math.crowd_batches import _weight_table, crowd_after_each
from forecasts.score_math.scoring import CROWD_HANDLE, ScoringEvent
from tests.oracles.scoring import score_claim

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = 60_000_000  # microseconds
HANDLES = "abcdefgh"
# Few distinct values, so ties between equal values are common; None is a withdrawal.
values = (
    st.none()
    | st.integers(1, 9).map(lambda n: n / 10)
    | st.integers(1, 999).map(lambda n: n / 1000)
)
claim_events = st.lists(st.tuples(st.sampled_from(HANDLES), values), max_size=40)
examples = settings(deadline=None, max_examples=150)


@examples
@given(
    st.lists(claim_events, min_size=1, max_size=5),
    st.sampled_from([1, 7, 60, 1 << 20]),
    st.sampled_from([1, forecasts.score_math.crowd_batches._WIDE]),
)
def test_crowd_after_each_is_the_median_of_the_standings(
    claims: list[list[tuple[str, float | None]]], cells: int, wide: int
) -> None:
    # Several claims at once, small blocks (cells) so that rows are cut into many blocks, and
    # both layouts (wide = 1 sends every claim through the one for claims with many forecasts).
    owners = [c * 100 + HANDLES.index(h) for c, events in enumerate(claims) for h, _ in events]
    probabilities = [math.nan if p is None else p for events in claims for _, p in events]
    bounds = np.cumsum([0] + [len(events) for events in claims])
    with patch.object(forecasts.score_math.crowd_batches, "_WIDE", wide):
        got = crowd_after_each(
            np.array(owners, dtype=np.int64), np.array(probabilities), bounds, cells=cells
        ).tolist()
    _assert_medians_of_standings(claims, bounds, got)


def _assert_medians_of_standings(
    claims: Sequence[Sequence[tuple[Hashable, float | None]]],
    bounds: Sequence[int],
    got: list[float],
) -> None:
    for c, events in enumerate(claims):
        standing: dict[Hashable, float] = {}
        for k, (handle, probability) in enumerate(events):
            standing.pop(handle, None)  # an update moves the forecaster to the newest rank
            if probability is not None:
                standing[handle] = probability
            want = recency_weighted_median(list(standing.values()))
            crowd = got[bounds[c] + k]
            assert crowd == want if want is not None else math.isnan(crowd)


def test_one_claim_with_a_thousand_forecasters() -> None:
    # The settlement benchmark's shape: wide enough for the layout along rows, and blocks.
    rng = np.random.default_rng(4)
    owners = np.concatenate([np.arange(1000), rng.integers(0, 1000, 200)])
    rng.shuffle(owners)
    probabilities = np.round(rng.uniform(0.05, 0.95, owners.size), 2)
    probabilities[rng.random(owners.size) < 0.05] = math.nan  # some withdrawals
    got = crowd_after_each(owners, probabilities).tolist()
    events = [
        (int(o), None if math.isnan(p) else float(p))
        for o, p in zip(owners, probabilities, strict=True)
    ]
    _assert_medians_of_standings([events], [0, len(events)], got)


def test_the_weight_table_holds_every_recency_weights_exactly() -> None:
    table, offsets = _weight_table(700)
    for count in range(1, 701):
        weights = table[offsets[count] + 1 : offsets[count] + count + 1]
        assert weights.tobytes() == recency_weights(count).tobytes()


def test_crowd_after_each_of_nothing() -> None:
    assert len(crowd_after_each(np.zeros(0, dtype=np.int64), np.zeros(0))) == 0
    withdrawals = crowd_after_each(np.array([0, 1]), np.array([math.nan, math.nan]))
    assert np.isnan(withdrawals).all()


@st.composite
def batches(draw: st.DrawFn) -> tuple[ClaimBatch, list[list[ScoringEvent]], list[int]]:
    """Claims with events in any order, some before T0 or after Tc, early closes."""
    claims = draw(st.integers(1, 4))
    opens, closes, closed, outcomes, events = [], [], [], [], []
    for _ in range(claims):
        window = draw(st.integers(2, 300))
        opens.append(0)
        closes.append(window * MINUTE)
        closed.append(draw(st.integers(-5, window + 5)) * MINUTE)
        outcomes.append(draw(st.sampled_from([0, 1])))
        minutes = draw(st.lists(st.integers(-10, window + 10), max_size=25))
        events.append([(draw(st.integers(0, 5)), m * MINUTE, draw(values)) for m in minutes])
    flat = [event for claim in events for event in claim]
    seqs = draw(st.permutations(range(1, len(flat) + 1)))
    batch = ClaimBatch(
        opens_at=np.array(opens, dtype=np.int64),
        closes_at=np.array(closes, dtype=np.int64),
        closed_at=np.array(closed, dtype=np.int64),
        outcome=np.array(outcomes, dtype=np.int64),
        bounds=np.cumsum([0] + [len(claim) for claim in events]),
        forecaster=np.array([f for f, _, _ in flat], dtype=np.int64),
        at=np.array([at for _, at, _ in flat], dtype=np.int64),
        seq=np.array(seqs, dtype=np.int64),
        probability=np.array([math.nan if p is None else p for _, _, p in flat]),
    )
    scoring_events, start = [], 0
    for claim in events:
        scoring_events.append(
            [
                ScoringEvent(f"h{f}", T0 + timedelta(microseconds=at), seqs[start + k], p)
                for k, (f, at, p) in enumerate(claim)
            ]
        )
        start += len(claim)
    return batch, scoring_events, outcomes


@examples
@given(batches())
def test_score_batch_gives_score_claims_rows(
    case: tuple[ClaimBatch, list[list[ScoringEvent]], list[int]],
) -> None:
    batch, events, outcomes = case
    columns = score_batch(batch)
    got = list(
        zip(
            columns.claim,
            [CROWD_HANDLE if f == CROWD else f"h{f}" for f in columns.forecaster],
            columns.brier,
            columns.time_averaged_brier,
            columns.coverage,
            columns.log_score,
            columns.baseline_score,
            columns.peer_score,
            columns.market_points,
            columns.crps,
            columns.time_averaged_crps,
            strict=True,
        )
    )
    want = []
    for c, claim in enumerate(events):
        window = {
            "opens_at": T0 + timedelta(microseconds=int(batch.opens_at[c])),
            "closes_at": T0 + timedelta(microseconds=int(batch.closes_at[c])),
            "closed_at": T0 + timedelta(microseconds=int(batch.closed_at[c])),
        }
        for row in score_claim(claim, outcome=outcomes[c], **window):
            want.append((c, *vars(row).values()))
    assert got == want  # exactly: the same floats, not merely close ones
