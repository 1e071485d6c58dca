"""Leaderboard and calibration math, by hand-worked examples and a few properties."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.score_math.aggregates import (
    CalibrationBin,
    bootstrap_mean_ci,
    calibration_bin,
    calibration_bins,
    murphy_decomposition,
    peer_accuracy,
)

probabilities = st.integers(1, 999).map(lambda n: n / 1000)
pairs = st.lists(st.tuples(probabilities, st.sampled_from([0, 1])), max_size=60)


def test_bootstrap_needs_two_values() -> None:
    assert bootstrap_mean_ci([], seed_text="ann") is None
    assert bootstrap_mean_ci([0.2], seed_text="ann") is None


def test_bootstrap_is_deterministic_per_handle() -> None:
    values = [0.05, 0.3, 0.12, 0.5, 0.22, 0.09]
    first = bootstrap_mean_ci(values, seed_text="ann")
    assert first == bootstrap_mean_ci(list(values), seed_text="ann")
    assert first != bootstrap_mean_ci(values, seed_text="ben")
    assert first is not None
    low, high = first
    assert min(values) <= low <= sum(values) / len(values) <= high <= max(values)


def test_bootstrap_by_hand() -> None:
    # Two values 0 and 1: a resample's mean is 0, 0.5 or 1 with chances 1/4, 1/2, 1/4, so of
    # 1,000 resamples about 250 have mean 0 and 250 mean 1; the 2.5th and 97.5th
    # percentiles fall inside those runs.
    assert bootstrap_mean_ci([0.0, 1.0], seed_text="ann") == (0.0, 1.0)
    # Every resample of a constant is that constant.
    assert bootstrap_mean_ci([0.3] * 5, seed_text="ann") == pytest.approx((0.3, 0.3))


def test_bootstrap_in_batches_for_long_histories() -> None:
    values = [(i % 7) / 10 for i in range(3000)]  # 1000 x 3000 indices: drawn in batches
    interval = bootstrap_mean_ci(values, seed_text="bot", resamples=1000)
    assert interval is not None
    mean = sum(values) / len(values)
    assert interval[0] < mean < interval[1] and interval[1] - interval[0] < 0.05


def test_peer_accuracy_shrinks_thin_records() -> None:
    # Σ peer 12 over Σ coverage 3: below K = 10, so 12 / 10.
    assert peer_accuracy(12.0, 3.0) == pytest.approx(1.2)
    # Σ coverage 25 > K: 50 / 25.
    assert peer_accuracy(50.0, 25.0) == pytest.approx(2.0)
    assert peer_accuracy(12.0, 3.0, k=2) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        peer_accuracy(1.0, 1.0, k=0)


def test_calibration_bin_edges() -> None:
    # min(floor(10 p), 9): 0.999 -> 9, 1 -> 9 (not 10), 0.1 -> 1, 0.3 -> 3 although
    # 10 * 0.3 == 3.0000000000000004, 0.7 -> 7 although 10 * 0.7 == 7.000000000000001.
    cases = {0.0: 0, 0.001: 0, 0.099: 0, 0.1: 1, 0.3: 3, 0.7: 7, 0.9: 9, 0.999: 9, 1.0: 9}
    assert {p: calibration_bin(p) for p in cases} == cases
    with pytest.raises(ValueError):
        calibration_bin(1.5)


def test_calibration_bins_by_hand() -> None:
    bins = calibration_bins([(0.05, 0), (0.15, 1), (0.12, 0), (0.999, 1), (0.95, 0)])
    assert [b.bin for b in bins] == list(range(10))
    # bin 1: 0.15 and 0.12 -> mean forecast 0.135, one yes of two.
    assert bins[1].mean_forecast == pytest.approx(0.135)
    assert bins[1] == CalibrationBin(1, bins[1].mean_forecast, 0.5, 2)
    # bin 9: 0.999 and 0.95 -> mean 0.9745, one yes of two.
    assert bins[9].mean_forecast == pytest.approx(0.9745) and bins[9].count == 2
    assert bins[9].observed_frequency == 0.5
    assert bins[0] == CalibrationBin(0, 0.05, 0.0, 1)
    assert bins[5] == CalibrationBin(5, None, None, 0)
    with pytest.raises(ValueError):
        calibration_bins([(0.5, 2)])


def test_murphy_by_hand_with_no_spread_inside_bins() -> None:
    # (0.2, no), (0.2, yes), (0.8, yes), (0.8, yes); base rate ō = 3/4.
    # bin 2: f̄ 0.2, ō 0.5, n 2; bin 8: f̄ 0.8, ō 1, n 2.
    # reliability = (2 * 0.3² + 2 * 0.2²) / 4 = (0.18 + 0.08) / 4 = 0.065
    # resolution  = (2 * 0.25² + 2 * 0.25²) / 4 = 0.0625
    # uncertainty = 0.75 * 0.25 = 0.1875
    # brier = (0.04 + 0.64 + 0.04 + 0.04) / 4 = 0.19 = 0.065 - 0.0625 + 0.1875, so within_bin 0.
    murphy = murphy_decomposition([(0.2, 0), (0.2, 1), (0.8, 1), (0.8, 1)])
    assert murphy.reliability == pytest.approx(0.065)
    assert murphy.resolution == pytest.approx(0.0625)
    assert murphy.uncertainty == pytest.approx(0.1875)
    assert murphy.brier == pytest.approx(0.19)
    assert murphy.within_bin == pytest.approx(0, abs=1e-15)
    assert murphy.count == 4


def test_murphy_by_hand_with_spread_inside_a_bin() -> None:
    # (0.1, no), (0.19, yes): one bin, f̄ 0.145, ō 0.5 = base rate.
    # reliability = 2 * 0.355² / 2 = 0.126025; resolution = 0; uncertainty = 0.25
    # brier = (0.01 + 0.6561) / 2 = 0.33305; within_bin = 0.33305 - 0.376025 = -0.042975
    murphy = murphy_decomposition([(0.1, 0), (0.19, 1)])
    assert murphy.reliability == pytest.approx(0.126025)
    assert murphy.resolution == pytest.approx(0.0)
    assert murphy.uncertainty == pytest.approx(0.25)
    assert murphy.brier == pytest.approx(0.33305)
    assert murphy.within_bin == pytest.approx(-0.042975)


def test_murphy_of_nothing() -> None:
    murphy = murphy_decomposition([])
    assert murphy.count == 0
    parts = [murphy.reliability, murphy.resolution, murphy.uncertainty, murphy.within_bin]
    assert [*parts, murphy.brier] == [None] * 5


@settings(deadline=None, max_examples=100)
@given(pairs)
def test_murphy_parts_add_up_to_the_brier_score(sample: list[tuple[float, int]]) -> None:
    murphy = murphy_decomposition(sample)
    if not sample:
        assert murphy.brier is None
        return
    assert murphy.brier is not None and murphy.reliability is not None
    assert murphy.resolution is not None and murphy.uncertainty is not None
    assert murphy.within_bin is not None
    total = murphy.reliability - murphy.resolution + murphy.uncertainty + murphy.within_bin
    assert total == pytest.approx(murphy.brier, abs=1e-12)
    brier = math.fsum((p - o) ** 2 for p, o in sample) / len(sample)
    assert murphy.brier == pytest.approx(brier)
    assert murphy.reliability >= 0 and murphy.resolution >= 0 and 0 <= murphy.uncertainty <= 0.25
    assert sum(b.count for b in calibration_bins(sample)) == murphy.count == len(sample)
