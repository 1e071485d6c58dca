"""SPEC §7's distributions: scale, CDF validation and conversion, buckets, quantiles, crowds."""

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.score_math.distributions import (
    GRID,
    N_BINS,
    Scale,
    cdf_from_quantiles,
    cdf_problem,
    cdf_quantile,
    checked_cdf,
    mc_crowd,
    normalise,
    numeric_crowd,
    outcome_bucket,
    pit,
    pmf,
    reference_pmf,
    round_cdf,
)
from tests.oracles.kinds_examples import (
    events_of,
    from_unix,
    load,
    outcome_of,
    parse_time,
    scale_of,
)

EXAMPLES = load()
DISTRIBUTIONS = [pytest.param(e, id=e["name"]) for e in EXAMPLES if e["kind"] != "multiple_choice"]
LINEAR = Scale(0.0, 200.0)


def _uniform(scale: Scale) -> list[float]:
    a, b = scale.ends()
    return round_cdf(a + (b - a) * GRID)


@pytest.mark.parametrize("example", DISTRIBUTIONS)
def test_stored_cdfs_match_the_examples_checks(example: dict[str, Any]) -> None:
    scale = scale_of(example)
    for event, raw in zip(events_of(example), example["events"], strict=True):
        if event.distribution is None:
            continue
        check = raw["cdf_check"]
        for i in (0, 50, 100, 150, 200):
            assert event.distribution[i] == check[f"F_{i}"], (event.handle, i)
        assert sum(event.distribution) == pytest.approx(check["sum"], abs=1e-9)
        assert cdf_problem(scale, event.distribution) is None


@pytest.mark.parametrize("example", DISTRIBUTIONS)
def test_outcome_bucket_and_reference_match(example: dict[str, Any]) -> None:
    scale = scale_of(example)
    outcome = float(outcome_of(example))
    assert scale.u(outcome) == pytest.approx(example["outcome_u"], abs=1e-12)
    bucket = outcome_bucket(scale, outcome)
    assert bucket == example["outcome_bucket"]
    assert reference_pmf(scale)[bucket] == pytest.approx(example["ref"], abs=1e-15)
    assert reference_pmf(scale).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("example", DISTRIBUTIONS)
def test_crowd_median_and_pit_match(example: dict[str, Any]) -> None:
    scale = scale_of(example)
    standing: dict[str, list[float]] = {}
    events = events_of(example)
    for event, want in zip(events, example["crowd_after_each_event"], strict=False):
        standing.pop(event.handle, None)
        if event.distribution is not None:
            standing[event.handle] = event.distribution
        crowd = numeric_crowd(list(standing.values()))
        assert crowd is not None
        for i, value in want["crowd_cdf_at"].items():
            assert crowd[int(i)] == pytest.approx(value, abs=1e-9)
        median = cdf_quantile(scale, crowd, 0.5)
        assert median is not None
        if example["kind"] == "date":
            expected = parse_time(want["crowd_median"]).timestamp()
            assert abs((from_unix(median) - from_unix(expected)).total_seconds()) < 1e-5
        else:
            assert median == pytest.approx(want["crowd_median"], abs=1e-9, rel=1e-12)
    outcome = float(outcome_of(example))
    for handle, want in example["pit_at_close"].items():
        if handle != "@crowd":
            assert pit(scale, standing[handle], outcome) == pytest.approx(want, abs=1e-9)


def _same_floats(got: list[float], want: list[float]) -> bool:
    """Equal value by value, the sign of zero included, NaN where NaN."""
    return len(got) == len(want) and all(
        (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))
        for a, b in zip(got, want, strict=True)
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=201))
def test_rounding_agrees_with_round_on_any_float(values: list[float]) -> None:
    assert _same_floats(round_cdf(values), [round(x, 10) for x in values])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-(10**10), 10**10), min_size=1, max_size=201),
    st.lists(st.sampled_from([0.5, 0.5 - 1e-6, 0.5 + 1e-6, 0.49999999, 0.0, 1e-9]), min_size=1),
)
def test_rounding_agrees_with_round_at_and_near_halves(
    units: list[int], offsets: list[float]
) -> None:
    # values whose x * 1e10 lies at or about a half: where the one-pass rounding hands over
    values = [(k + offsets[i % len(offsets)]) / 10**10 for i, k in enumerate(units)]
    assert _same_floats(round_cdf(values), [round(x, 10) for x in values])


def test_rounding_is_pythons_half_to_even_on_the_binary_value() -> None:
    assert round_cdf([0.12345678905, 2.675e-11, 0.1 + 0.2]) == [
        round(0.12345678905, 10),
        round(2.675e-11, 10),
        0.3,
    ]


def test_steps_are_checked_as_integers_of_1e_10() -> None:
    cdf = _uniform(LINEAR)
    assert cdf_problem(LINEAR, cdf) is None
    tight = list(cdf)
    tight[1] = round(tight[0] + 0.00005, 10)  # exactly the least step: accepted
    assert cdf_problem(LINEAR, tight) is None
    tight[1] = round(tight[0] + 0.0000499999, 10)
    assert cdf_problem(LINEAR, tight) == "F_1 - F_0 must be at least 5e-05"


@pytest.mark.parametrize(
    ("scale", "change", "reason"),
    [
        (Scale(0, 1), {0: 0.0009}, "F_0 must be at least 0.001 when the lower bound is open"),
        (Scale(0, 1), {N_BINS: 0.9991}, "F_200 must be at most 0.999"),
        (Scale(0, 1, open_lower=False), {0: 0.001}, "F_0 must be 0 when the lower bound"),
        (Scale(0, 1, open_upper=False), {N_BINS: 0.999}, "F_200 must be 1 when the upper bound"),
        (Scale(0, 1), {5: float("nan")}, "every CDF value must be a finite number"),
    ],
)
def test_bounds_are_checked(scale: Scale, change: dict[int, float], reason: str) -> None:
    cdf = _uniform(scale)
    assert cdf_problem(scale, cdf) is None
    for i, value in change.items():
        cdf[i] = value
    problem = cdf_problem(scale, cdf)
    assert problem is not None and problem.startswith(reason)
    with pytest.raises(ValueError, match=reason[:20]):
        checked_cdf(scale, cdf)


def test_wrong_length_and_bad_scales_are_refused() -> None:
    assert cdf_problem(LINEAR, [0.5] * 10) == "a CDF has 201 values, not 10"
    with pytest.raises(ValueError, match="log scale"):
        Scale(0.0, 10.0, log_scale=True)
    with pytest.raises(ValueError, match="below range_max"):
        Scale(1.0, 1.0)


@pytest.mark.parametrize(
    ("scale", "pairs", "reason"),
    [
        (LINEAR, [(0.5, 10.0)], "give 2 to 10 quantiles"),
        (LINEAR, [(0.5, 10.0), (0.4, 20.0)], "quantile levels must be strictly increasing"),
        (LINEAR, [(0.2, 10.0), (0.4, 10.0)], "quantile values must be strictly increasing"),
        (LINEAR, [(0.0, 10.0), (0.4, 20.0)], "each quantile level must lie strictly"),
        (Scale(1, 100, log_scale=True), [(0.2, -1.0), (0.4, 20.0)], "above 0 on a log scale"),
        (Scale(0, 1, open_lower=False), [(0.2, -1.0), (0.4, 0.5)], "lies below range_min"),
        (Scale(0, 1, open_upper=False), [(0.2, 0.1), (0.4, 1.5)], "lies above range_max"),
    ],
)
def test_bad_quantiles_are_refused(
    scale: Scale, pairs: list[tuple[float, float]], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        cdf_from_quantiles(scale, pairs)


def test_quantiles_on_closed_bounds_pass_through_0_and_1() -> None:
    scale = Scale(0.0, 10.0, open_lower=False, open_upper=False)
    cdf = cdf_from_quantiles(scale, [(0.25, 2.5), (0.75, 7.5)])
    assert cdf[0] == 0.0 and cdf[-1] == 1.0
    assert cdf[50] == round(0.98 * 0.25 + 0.02 * 0.25, 10)  # G(0.25) = 0.25 on (0,0)-(1,1)
    assert cdf_quantile(scale, cdf, 0.5) == pytest.approx(5.0)


def test_log_scale_maps_geometrically() -> None:
    scale = Scale(1.0, 10_000.0, log_scale=True)
    assert scale.u(100.0) == pytest.approx(0.5)
    assert scale.x(0.25) == pytest.approx(10.0)
    assert outcome_bucket(scale, 0.0) == 0 and outcome_bucket(scale, -5.0) == 0
    cdf = _uniform(scale)
    assert pit(scale, cdf, -1.0) == cdf[0] / 2
    assert cdf_quantile(scale, cdf, 0.5) == pytest.approx(100.0)


def test_buckets_follow_the_spec_at_the_edges() -> None:
    scale = Scale(0.0, 1.0)
    assert outcome_bucket(scale, -0.01) == 0
    assert outcome_bucket(scale, 0.0) == 1
    assert outcome_bucket(scale, 1 / N_BINS) == 1  # on the edge: the lower bin (-1e-10)
    assert outcome_bucket(scale, 1.5 / N_BINS) == 2
    assert outcome_bucket(scale, 1.0) == N_BINS
    assert outcome_bucket(scale, 1.01) == N_BINS + 1


def test_pmf_sums_to_one_and_quantiles_outside_are_none() -> None:
    cdf = _uniform(LINEAR)
    masses = pmf(cdf)
    assert len(masses) == N_BINS + 2
    assert masses.sum() == pytest.approx(1.0, abs=1e-12)
    assert cdf_quantile(LINEAR, cdf, 0.0005) is None
    assert cdf_quantile(LINEAR, cdf, 0.9995) is None
    assert cdf_quantile(LINEAR, cdf, cdf[0]) == 0.0
    assert pit(LINEAR, cdf, 250.0) == (1 + cdf[-1]) / 2


def test_mc_crowd_and_normalise() -> None:
    assert normalise([1.0, 1.0, 2.0]) == [0.25, 0.25, 0.5]
    with pytest.raises(ValueError, match="positive"):
        normalise([0.0, 0.0])
    assert mc_crowd([]) is None
    example = EXAMPLES[0]
    crowd = mc_crowd([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.25, 0.25, 0.5]])
    want = example["crowd_after_each_event"][2]["crowd_probabilities"]
    assert crowd == pytest.approx([want[label] for label in example["options"]], abs=1e-9)
    assert numeric_crowd([]) is None
    alone = numeric_crowd([_uniform(LINEAR)])
    assert alone is not None and np.array_equal(alone, np.array(_uniform(LINEAR)))
