"""Properties of the score math: the sweep agrees with the naive oracle, and the scores behave."""

import math
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from forecasts.score_math.crowd import market_probability
from forecasts.score_math.scoring import CROWD_HANDLE, ScoreRow, ScoringEvent
from tests.oracles.scoring import score_claim
from tests.oracles.scoring_naive import score_claim_naive

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HANDLES = ["ann", "ben", "cat", "dan", "eve"]
probabilities = st.integers(1, 999).map(lambda n: n / 1000)
outcomes = st.sampled_from([0, 1])
examples = settings(deadline=None, max_examples=100)


@dataclass(frozen=True)
class Case:
    events: list[ScoringEvent]
    closes_at: datetime
    closed_at: datetime
    outcome: int

    def score(self, events: list[ScoringEvent] | None = None) -> list[ScoreRow]:
        return score_claim(self.events if events is None else events, **self.window())

    def window(self) -> dict[str, Any]:
        return {
            "opens_at": T0,
            "closes_at": self.closes_at,
            "closed_at": self.closed_at,
            "outcome": self.outcome,
        }


def _minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@st.composite
def cases(draw: st.DrawFn, *, tidy: bool = False) -> Case:
    """Random claims; `tidy` keeps events at distinct even minutes inside [T0, Tc)."""
    window = draw(st.integers(2, 400)) * 2
    if tidy:
        closed = draw(st.integers(1, window // 2)) * 2
        slots = st.lists(st.integers(0, closed // 2 - 1), unique=True, max_size=20)
        times = sorted(2 * slot for slot in draw(slots))
    else:
        closed = draw(st.integers(-20, window + 20))
        times = draw(st.lists(st.integers(-30, window + 30), max_size=25))
    events = [
        ScoringEvent(
            draw(st.sampled_from(HANDLES)), _minutes(minute), seq, draw(st.none() | probabilities)
        )
        for seq, minute in enumerate(times, start=1)
    ]
    return Case(events, _minutes(window), _minutes(closed), draw(outcomes))


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _same_rows(got: list[ScoreRow], want: list[ScoreRow]) -> None:
    assert [row.handle for row in got] == [row.handle for row in want]
    for a, b in zip(got, want, strict=True):
        for field in fields(ScoreRow):
            x, y = getattr(a, field.name), getattr(b, field.name)
            assert x == y if field.name == "handle" else _close(x, y), (a, b)


@examples
@given(cases(), st.randoms(use_true_random=False))
def test_sweep_agrees_with_the_naive_oracle(case: Case, random: Any) -> None:
    shuffled = list(case.events)
    random.shuffle(shuffled)  # input order must not matter: both sort by (time, seq)
    _same_rows(case.score(shuffled), score_claim_naive(case.events, **case.window()))


@examples
@given(cases())
def test_fields_stay_in_bounds(case: Case) -> None:
    rows = case.score()
    handles = {event.handle for event in case.events}
    for row in rows:
        assert row.handle in handles or row.handle == CROWD_HANDLE
        assert 0 < row.coverage <= 1 + 1e-12
        assert row.time_averaged_brier is not None and 0 <= row.time_averaged_brier <= 1
        assert row.brier is None or 0 <= row.brier <= 1
        assert (row.brier is None) == (row.log_score is None)
        assert row.log_score is None or row.log_score < 0
        assert (row.market_points is None) == (row.handle == CROWD_HANDLE)
        values = [getattr(row, field.name) for field in fields(ScoreRow)][1:]
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in values)
    assert [row.handle for row in rows].count(CROWD_HANDLE) == (1 if rows else 0)


@examples
@given(cases())
def test_peer_scores_of_the_forecasters_sum_to_zero(case: Case) -> None:
    # At each instant Σ_i (ln q_i - mean_{j≠i} ln q_j) = 0; a non-zero sum would mean the
    # crowd was counted as a peer.
    peers = [row.peer_score for row in case.score() if row.handle != CROWD_HANDLE]
    assert math.fsum(peers) == pytest.approx(0, abs=1e-9)


@examples
@given(cases(tidy=True))
def test_market_points_telescope(case: Case) -> None:
    # Tidy cases: every forecaster who ever submitted has coverage, hence a row.
    rows = case.score()
    market = market_probability([(e.at, e.seq, e.probability) for e in case.events])
    q = market if case.outcome == 1 else 1 - market
    points = [row.market_points for row in rows if row.market_points is not None]
    assert math.fsum(points) == pytest.approx(100 * math.log2(q / 0.5), abs=1e-9)


@examples
@given(cases(tidy=True), st.data())
def test_resubmitting_the_same_probability_changes_nothing(case: Case, data: st.DataObject) -> None:
    forecasts = [k for k, event in enumerate(case.events) if event.probability is not None]
    assume(forecasts)
    k = data.draw(st.sampled_from(forecasts))
    again = replace(case.events[k], at=case.events[k].at + timedelta(minutes=1), seq=10_000)
    # Even minutes leave room for the odd one; the copy stays the newest standing forecast and
    # the market's latest, so the crowd is unchanged and the market points delta is 0.
    _same_rows(case.score([*case.events, again]), case.score())


@examples
@given(probabilities, probabilities, outcomes, st.integers(1, 1000))
def test_a_withdrawn_gap_scores_no_coverage(p: float, other: float, outcome: int, n: int) -> None:
    hours = [0, 10 * n, 30 * n, 70 * n, 100 * n]
    t0, t_withdraw, t_back, t_other, t1 = (T0 + timedelta(hours=h) for h in hours)
    events = [
        ScoringEvent("ann", t0, 1, p),
        ScoringEvent("ann", t_withdraw, 2, None),
        ScoringEvent("ann", t_back, 3, p),
        ScoringEvent("ben", t_other, 4, other),
    ]
    rows = score_claim(events, opens_at=T0, closes_at=t1, closed_at=t1, outcome=outcome)
    ann = next(row for row in rows if row.handle == "ann")
    # Standing on [0, 10n) and [30n, 100n): 80n of 100n; the gap adds nothing.
    q = p if outcome == 1 else 1 - p
    assert ann.coverage == pytest.approx(0.8)
    assert ann.time_averaged_brier == pytest.approx((p - outcome) ** 2)
    assert ann.baseline_score == pytest.approx(100 * math.log2(2 * q) * 0.8)


def _expected(report: float, truth: float, field: str) -> float:
    """Expected score of a lone forecaster reporting `report` when P(yes) = truth."""
    total = 0.0
    for outcome, chance in ((1, truth), (0, 1 - truth)):
        event = ScoringEvent("ann", T0, 1, report)
        end = T0 + timedelta(days=3)
        (row, _crowd) = score_claim(
            [event], opens_at=T0, closes_at=end, closed_at=end, outcome=outcome
        )
        value = getattr(row, field)
        assert value is not None
        total += chance * value
    return total


@examples
@given(probabilities, probabilities)
def test_scores_are_proper(truth: float, report: float) -> None:
    for field in ("brier", "time_averaged_brier"):
        assert _expected(truth, truth, field) <= _expected(report, truth, field) + 1e-12
    for field in ("log_score", "baseline_score", "market_points"):
        assert _expected(truth, truth, field) >= _expected(report, truth, field) - 1e-9
