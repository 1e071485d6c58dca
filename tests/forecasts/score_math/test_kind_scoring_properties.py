"""Properties of SPEC §7's scores: the production sweep agrees with the naive oracle, a
two-option claim is the binary claim, peer scores cancel, market points telescope, CRPS is
its integral, and truthful reporting maximises the expected log score."""

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from forecasts.score_math.distributions import (
    GRID,
    N_BINS,
    Scale,
    normalise,
    outcome_bucket,
    pmf,
    reference_pmf,
)
from forecasts.score_math.kind_scoring import crps, numeric_terms
from forecasts.score_math.scoring import CROWD_HANDLE, ScoreRow, ScoringEvent
from tests.oracles.kinds_examples import logistic_cdf
from tests.oracles.scoring import rows_of_one_claim, score_claim
from tests.oracles.scoring_naive import score_kind_claim_naive

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HANDLES = ["ann", "ben", "cat", "dan"]
FIELDS = [f.name for f in fields(ScoreRow) if f.name != "handle"]
examples = settings(deadline=None, max_examples=60)
Event = tuple[str, datetime, int, list[float] | None]


@dataclass(frozen=True)
class KindCase:
    events: list[Event]
    window: dict[str, Any]


def _minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@st.composite
def scales(draw: st.DrawFn) -> Scale:
    if draw(st.booleans()):
        low = draw(st.sampled_from([0.5, 1.0, 10.0]))
        return Scale(low, low * draw(st.sampled_from([10.0, 1000.0])), True, *draw(_bounds))
    low = draw(st.sampled_from([-50.0, 0.0, 3.0]))
    return Scale(low, low + draw(st.sampled_from([1.0, 100.0])), False, *draw(_bounds))


_bounds = st.tuples(st.booleans(), st.booleans())
_centres = st.integers(-20, 120).map(lambda n: n / 100)
_widths = st.integers(2, 50).map(lambda n: n / 100)


@st.composite
def cdfs(draw: st.DrawFn, scale: Scale) -> list[float]:
    return logistic_cdf(scale, draw(_centres), draw(_widths))


@st.composite
def mc_distributions(draw: st.DrawFn, options: int) -> list[float]:
    return normalise([draw(st.integers(1, 99)) / 100 for _ in range(options)])


def _events(draw: Callable[[Any], Any], values: st.SearchStrategy[list[float]]) -> list[Event]:
    times = draw(st.lists(st.integers(-10, 420), min_size=1, max_size=12))
    return [
        (draw(st.sampled_from(HANDLES)), _minutes(m), seq, draw(st.none() | values))
        for seq, m in enumerate(times, start=1)
    ]


def _window(draw: Callable[[st.SearchStrategy[int]], int]) -> dict[str, Any]:
    return {
        "opens_at": T0,
        "closes_at": _minutes(400),
        "closed_at": _minutes(draw(st.integers(1, 400))),
    }


@st.composite
def mc_cases(draw: st.DrawFn) -> KindCase:
    options = draw(st.integers(2, 5))
    window = _window(draw) | {"outcome": draw(st.integers(0, options - 1)), "options": options}
    return KindCase(_events(draw, mc_distributions(options)), window)


@st.composite
def numeric_cases(draw: st.DrawFn) -> KindCase:
    scale = draw(scales())
    u = draw(st.integers(-30, 130).map(lambda n: n / 100))
    u = u if scale.open_lower else max(u, 0.0)
    u = u if scale.open_upper else min(u, 1.0)
    window = _window(draw) | {"outcome": 0, "scale": scale, "outcome_value": scale.x(u)}
    return KindCase(_events(draw, cdfs(scale)), window)


def _rows(case: KindCase) -> dict[str, ScoreRow]:
    rows, _, _ = rows_of_one_claim(case.events, **case.window)
    return {row.handle: row for row in rows}


def _close(a: float | None, b: float | None, tolerance: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


@examples
@given(st.one_of(mc_cases(), numeric_cases()))
def test_the_sweep_agrees_with_the_naive_oracle(case: KindCase) -> None:
    got = _rows(case)
    want = {row.handle: row for row in score_kind_claim_naive(case.events, **case.window)}
    assert set(got) == set(want)
    for handle, row in want.items():
        for name in FIELDS:
            assert _close(getattr(got[handle], name), getattr(row, name)), (handle, name)


@examples
@given(st.data())
def test_a_two_option_claim_scores_exactly_like_the_binary_claim(data: st.DataObject) -> None:
    probabilities = st.integers(1, 999).map(lambda n: n / 1000)
    times = data.draw(st.lists(st.integers(-10, 420), min_size=1, max_size=15))
    binary = [
        ScoringEvent(
            data.draw(st.sampled_from(HANDLES)),
            _minutes(m),
            seq,
            data.draw(st.none() | probabilities),
        )
        for seq, m in enumerate(times, start=1)
    ]
    window = _window(data.draw)
    outcome = data.draw(st.integers(0, 1))
    choice: list[Event] = [
        (
            e.handle,
            e.at,
            e.seq,
            None if e.probability is None else [1 - e.probability, e.probability],
        )
        for e in binary
    ]
    two = _rows(KindCase(choice, window | {"outcome": outcome, "options": 2}))
    one = {row.handle: row for row in score_claim(binary, **window, outcome=outcome)}
    assert set(two) == set(one)
    for handle, row in one.items():
        for name in FIELDS:
            assert _close(getattr(two[handle], name), getattr(row, name), 1e-12), (handle, name)


@examples
@given(st.one_of(mc_cases(), numeric_cases()), st.integers(1, 400))
def test_peer_scores_sum_to_zero_at_every_instant(case: KindCase, minute: int) -> None:
    # every close gives a zero sum, so the integrand sums to zero at each instant
    for close in (case.window["closed_at"], _minutes(minute)):
        rows = _rows(KindCase(case.events, case.window | {"closed_at": close}))
        total = sum(row.peer_score for handle, row in rows.items() if handle != CROWD_HANDLE)
        assert abs(total) < 1e-9


@examples
@given(st.one_of(mc_cases(), numeric_cases()))
def test_market_points_telescope(case: KindCase) -> None:
    rows = _rows(case)
    window = case.window
    before = [e for e in case.events if e[1] < window["closed_at"] and e[3] is not None]
    forecasters = [row for handle, row in rows.items() if handle != CROWD_HANDLE]
    # a forecaster without coverage (withdrawn before T0) has market points but no row
    assume({e[0] for e in before} <= set(rows))
    total = sum(row.market_points or 0.0 for row in forecasters)
    if not before:
        assert total == 0.0
        return
    last = sorted(before, key=lambda e: (e[1], e[2]))[-1][3]
    assert last is not None
    if "scale" in window:
        scale = window["scale"]
        bucket = outcome_bucket(scale, window["outcome_value"])
        terms = numeric_terms(scale, np.array([last]), window["outcome_value"])
        q_last, prior = float(terms.q[0]), float(reference_pmf(scale)[bucket])
    else:
        q_last, prior = last[window["outcome"]], 1 / window["options"]
    assert math.isclose(total, 100 * math.log2(q_last / prior), rel_tol=1e-9, abs_tol=1e-9)


@examples
@given(scales().flatmap(lambda s: st.tuples(cdfs(s), st.integers(-10, 110))))
def test_crps_equals_a_fine_numerical_integration(case: tuple[list[float], int]) -> None:
    cdf, percent = case
    u_star = min(max(percent / 100, 0.0), 1.0)
    points = N_BINS * 500
    u = (np.arange(points) + 0.5) / points  # midpoints of a fine grid
    f = np.interp(u, GRID, cdf)
    numerical = float(((f - (u >= u_star)) ** 2).mean())
    assert math.isclose(float(crps(np.array([cdf]), u_star)[0]), numerical, abs_tol=2e-6)


@examples
@given(scales().flatmap(lambda s: st.tuples(st.just(s), cdfs(s), cdfs(s))))
def test_truthful_reporting_maximises_the_expected_log_score(
    case: tuple[Scale, list[float], list[float]],
) -> None:
    scale, belief, report = case
    chance = pmf(belief)
    # one outcome in each bucket that can happen: the middle of the bin, or beyond an end
    outcomes = [scale.x(-0.5), *(scale.x((i - 0.5) / N_BINS) for i in range(1, N_BINS + 1))]
    outcomes.append(scale.x(1.5))

    def expected(reported: list[float]) -> float:
        total = 0.0
        for x, p in zip(outcomes, chance.tolist(), strict=True):
            if p > 0:
                total += p * math.log(float(numeric_terms(scale, np.array([reported]), x).q[0]))
        return total

    assert expected(belief) >= expected(report) - 1e-12
