"""The public probability history: crowd and market after each event, names left out."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.lifecycle import get_claim
from forecasts.ledger.lru import LRUCache
from forecasts.score_math.crowd import CrowdTracker, crowd_probability
from forecasts.submit.history import (
    HISTORY_CACHE_SIZE,
    HistoryPoint,
    _extended,
    _replay,
    probability_history,
)

# _extended, _replay, probability_history
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.oracles.history import history_of
from web.db import Database

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


@settings(deadline=None, max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(1, 8), st.none() | st.integers(1, 99).map(lambda n: n / 100)),
        min_size=1,
        max_size=50,
    ),
    st.data(),
)
def test_extending_a_history_equals_replaying_it(
    moves: list[tuple[int, float | None]], data: st.DataObject
) -> None:
    # a cached history extended by the events that came since, in any number of steps,
    # is the full replay to the bit (the crowd tracker picks up where the replay left off)
    events = [(account, at(k), k, p) for k, (account, p) in enumerate(moves, start=1)]
    whole = history_of(events)
    cuts = data.draw(st.lists(st.integers(0, len(events)), min_size=1, max_size=4))
    bounds = sorted({*cuts, len(events)})
    replay = _replay(events[: bounds[0]], bounds[0])
    for start, end in pairwise(bounds):
        replay = _extended(replay, events[start:end], end)
    assert replay.points == whole


def test_a_cached_history_takes_only_the_new_forecasts(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    make_claim(client, tokens.editor, slug="busy", closes_at=T0 + timedelta(days=30))
    cache: LRUCache[int, Any] = LRUCache(HISTORY_CACHE_SIZE)
    voters = [tokens.alice, tokens.bob, tokens.editor, tokens.admin]
    with db.reading() as session:
        claim_id = get_claim(session, "busy").id
    assert claim_id is not None
    seen: list[HistoryPoint] = []
    for round_ in range(4):
        for k, token in enumerate(voters):
            clock.advance(minutes=7)
            path = "/api/v1/claims/busy/" + ("withdraw" if (round_ + k) % 5 == 4 else "forecasts")
            p = (3 + 17 * k * round_) % 97 / 100 + 0.01
            body = None if path.endswith("withdraw") else {"probability": p}
            assert client.post(path, json=body, headers=auth(token)).status_code in (200, 201)
        with db.reading() as session:
            cached = probability_history(session, claim_id, cache)
            fresh = probability_history(session, claim_id)
        assert cached == fresh and len(cached) == 4 * (round_ + 1)
        # the earlier points are the very objects cached before: extended, not replayed
        assert all(a is b for a, b in zip(cached, seen, strict=False)) and len(seen) < len(cached)
        seen = cached
