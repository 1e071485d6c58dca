"""The public probability history: crowd and market after each event, names left out."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.crowd import CrowdTracker, crowd_probability
from forecasts.history import HistoryPoint, history_of

T = datetime(2026, 3, 1, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T + timedelta(hours=hours)


def test_history_follows_crowd_and_market_through_updates_and_withdrawals() -> None:
    events = [
        (2, at(2), 11, 0.8),
        (1, at(1), 10, 0.2),  # given out of order: sorted by time, then seq
        (1, at(3), 12, 0.4),  # an update replaces 0.2
        (2, at(4), 13, None),  # a withdrawal: the market keeps the last forecast
    ]
    points = history_of(events)
    assert [p.at for p in points] == [at(1), at(2), at(3), at(4)]
    assert points[0] == HistoryPoint(at(1), 0.2, 0.2)
    assert points[1].crowd == crowd_probability([(at(1), 10, 0.2), (at(2), 11, 0.8)])
    assert points[2].crowd == crowd_probability([(at(2), 11, 0.8), (at(3), 12, 0.4)])
    assert points[2].market == 0.4
    assert points[3] == HistoryPoint(at(4), 0.4, 0.4)


def test_everyone_withdrawn_leaves_no_crowd_but_keeps_the_market() -> None:
    points = history_of([(1, at(1), 1, 0.3), (1, at(2), 2, None)])
    assert points[-1] == HistoryPoint(at(2), None, 0.3)
    assert history_of([]) == []


@settings(deadline=None, max_examples=100)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.none() | st.integers(1, 99).map(lambda n: n / 100)),
        max_size=40,
    )
)
def test_history_replays_the_crowd_tracker(moves: list[tuple[int, float | None]]) -> None:
    # the crowd after each event, all at once, equals a replay event by event, to the bit
    events = [(account, at(k), k, p) for k, (account, p) in enumerate(moves, start=1)]
    tracker = CrowdTracker()
    for point, (account, _, _, p) in zip(history_of(events), events, strict=True):
        tracker.update(str(account), p)
        assert point.crowd == tracker.crowd()
