"""Crowd (recency-weighted median) and market probability, by hand-worked examples."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.score_math.crowd import (
    CrowdTracker,
    crowd_probability,
    market_probability,
    recency_weighted_median,
    recency_weights,
)
from tests.oracles.crowd import weighted_median

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_recency_weights_by_hand() -> None:
    # N = 3: w = exp(1 - √3), exp(√2 - √3), exp(0) = 0.4809, 0.7277, 1
    assert list(recency_weights(3)) == pytest.approx([0.48092, 0.72772, 1.0], abs=1e-5)
    # numpy's and math's exp may differ in the last bit (numpy 2.4 uses its own kernels)
    assert recency_weights(3)[0] == pytest.approx(math.exp(1 - math.sqrt(3)), rel=1e-15)
    assert len(recency_weights(0)) == 0


def test_empty_is_none_and_one_value_is_itself() -> None:
    assert recency_weighted_median([]) is None
    assert recency_weighted_median([0.37]) == 0.37


def test_the_newest_of_two_outweighs_the_oldest() -> None:
    # N = 2: weights 0.6609 (oldest), 1 (newest); total 1.6609, half 0.8304.
    # Whichever is newest carries more than half on its own.
    assert recency_weighted_median([0.7, 0.3]) == 0.3
    assert recency_weighted_median([0.3, 0.7]) == 0.7


def test_three_values() -> None:
    # Oldest to newest 0.2, 0.55, 0.7 with weights 0.4809, 0.7277, 1; half is 1.1043.
    # In value order: 0.2 (cum 0.4809) < half, 0.55 (cum 1.2086) >= half -> 0.55.
    assert recency_weighted_median([0.2, 0.55, 0.7]) == 0.55
    # Oldest to newest 0.7, 0.55, 0.2: in value order 0.2 (w 1, cum 1) still falls short of
    # 1.1043, and 0.55 (cum 1.7277) passes -> 0.55. With three values the smallest alone
    # weighs at most 1 < half and any two at least 1.2086 > half: always the middle value.
    assert recency_weighted_median([0.7, 0.55, 0.2]) == 0.55
    assert recency_weighted_median([0.55, 0.7, 0.2]) == 0.55


def test_four_values_from_the_crowd_example() -> None:
    # a 0.2, b 0.55, c 0.7, d 0.1 (oldest to newest); N = 4 weights 0.3679, 0.5567, 0.7649, 1,
    # total 2.6895, half 1.3447. Value order: 0.1 (w 1, cum 1) < half, then 0.2 (w 0.3679,
    # cum 1.3679) >= half -> 0.2, the crowd after hour 41 in scoring-examples.json.
    assert recency_weighted_median([0.2, 0.55, 0.7, 0.1]) == 0.2


def test_exactly_half_takes_the_mean_of_the_two_values() -> None:
    # Recency weights never split exactly in half (exp(sqrt k) are linearly independent over
    # the rationals), so the rule is exercised with explicit weights.
    # Weights 1, 1: cum 1 at 0.2 is exactly half of 2 -> (0.2 + 0.6) / 2.
    assert weighted_median([0.6, 0.2], [1, 1]) == pytest.approx(0.4)
    # Four equal weights: cum 2 at the second value is half of 4 -> (0.2 + 0.6) / 2.
    assert weighted_median([0.9, 0.1, 0.6, 0.2], [1, 1, 1, 1]) == pytest.approx(0.4)
    # Rounding-sized differences still count as exactly half (relative tolerance 1e-12): 0.2
    # weighs 0.3 and the total is 0.3 + 0.30000000000000004, so cum 0.3 falls 3e-17 short.
    assert weighted_median([0.6, 0.2], [0.1 + 0.2, 0.3]) == pytest.approx(0.4)


def test_just_past_half_is_not_exactly_half() -> None:
    # Total 2.001, half 1.0005: 0.2 (cum 1) falls short, 0.6 (cum 2.001) passes.
    assert weighted_median([0.2, 0.6], [1, 1.001]) == 0.6
    # Total 2.001, half 1.0005: 0.2 (cum 1.001) passes on its own.
    assert weighted_median([0.2, 0.6], [1.001, 1]) == 0.2


def test_weighted_median_rejects_bad_weights() -> None:
    with pytest.raises(ValueError):
        weighted_median([0.2, 0.6], [1])
    with pytest.raises(ValueError):
        weighted_median([0.2, 0.6], [1, -1])
    with pytest.raises(ValueError):
        weighted_median([0.2, 0.6], [0, 0])
    assert weighted_median([], []) is None


def test_crowd_orders_by_time_then_seq() -> None:
    later = T + timedelta(hours=1)
    # Given out of order: by time, 0.7 (T) is oldest and 0.3 (T + 1h) newest -> 0.3.
    assert crowd_probability([(later, 1, 0.3), (T, 2, 0.7)]) == 0.3
    # Same time: seq decides; seq 2 is the newer.
    assert crowd_probability([(T, 2, 0.3), (T, 1, 0.7)]) == 0.3
    assert crowd_probability([(T, 1, 0.3), (T, 2, 0.7)]) == 0.7
    assert crowd_probability([]) is None


def test_market_is_the_latest_forecast_ignoring_withdrawals() -> None:
    hour = timedelta(hours=1)
    assert market_probability([]) == 0.5
    assert market_probability([(T, 1, None)]) == 0.5
    assert market_probability([(T, 1, 0.3), (T + hour, 2, None)]) == 0.3
    # Out of order input: the latest by (time, seq) wins.
    assert market_probability([(T + hour, 3, 0.8), (T, 4, 0.1), (T + hour, 2, 0.6)]) == 0.8


def test_tracker_by_hand() -> None:
    tracker = CrowdTracker()
    assert tracker.crowd() is None
    assert tracker.update("a", 0.2) is None
    tracker.update("b", 0.55)
    tracker.update("c", 0.7)
    tracker.update("d", 0.1)
    assert tracker.crowd() == 0.2  # as in test_four_values_from_the_crowd_example
    # a updates: oldest to newest b 0.55, c 0.7, d 0.1, a 0.3; weights 0.3679, 0.5567,
    # 0.7649, 1. Value order 0.1 (cum 0.7649), 0.3 (cum 1.7649 >= 1.3447) -> 0.3.
    assert tracker.update("a", 0.3) == 0.2
    assert tracker.crowd() == 0.3
    assert tracker.update("c", None) == 0.7
    assert list(tracker.standing.items()) == [("b", 0.55), ("d", 0.1), ("a", 0.3)]


@settings(deadline=None, max_examples=150)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.none() | st.integers(1, 9).map(lambda n: n / 10)),
        max_size=40,
    )
)
def test_tracker_agrees_with_the_median_of_the_standings(
    events: list[tuple[str, float | None]],
) -> None:
    # Few distinct values, so ties between equal values are common.
    tracker = CrowdTracker()
    standing: dict[str, float] = {}
    for handle, probability in events:
        assert tracker.update(handle, probability) == standing.pop(handle, None)
        if probability is not None:
            standing[handle] = probability
        assert tracker.crowd() == recency_weighted_median(list(standing.values()))
        assert dict(tracker.standing) == standing
