"""The scheduler's notices: `claim.closing_soon` and `crowd.moved`, each exactly once."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from claims.clock import stamp
from forecasts.notify.notices import send_closing_soon, send_crowd_moves
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.forecasts.notify.test_outbox import API, events, post
from tests.web.kinds import make_kind_claim
from web.db import Database

DAYS = timedelta(days=1)
WINDOW = timedelta(seconds=86400)


def closing_soon(db: Database, clock: FakeClock) -> int:
    return send_closing_soon(db.write_engine, clock, WINDOW)


def test_closing_soon_once_per_close_again_for_a_shorter_window_never_after_an_early_close(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(client, tokens.editor, slug="soon", closes_at=T0 + 2 * DAYS)
    make_claim(client, tokens.editor, slug="early", closes_at=T0 + 2 * DAYS)
    make_claim(client, tokens.editor, slug="later", closes_at=T0 + 5 * DAYS)
    post(client, tokens.alice, "/claims/soon/forecasts", {"probability": 0.4})
    assert closing_soon(db, clock) == 0  # a day and more to go
    clock.set(T0 + 1.2 * DAYS)
    settled_early = {"outcome": "no", "closed_at": stamp(T0 + 1.1 * DAYS)}
    post(client, tokens.editor, "/claims/early/resolution", settled_early)
    assert closing_soon(db, clock) == 1
    assert closing_soon(db, clock) == 0
    shorter = {"closes_at": stamp(T0 + 1.8 * DAYS)}
    moved = client.patch(f"{API}/claims/soon", json=shorter, headers=auth(tokens.editor))
    assert moved.status_code == 200, moved.text
    assert closing_soon(db, clock) == 1  # a new closes_at: sent again
    soon = [e for e in events(db) if e.name == "claim.closing_soon"]
    assert {e.data["claim"]["slug"] for e in soon} == {"soon"}
    assert [e.data["claim"]["closes_at"] for e in soon] == [
        stamp(T0 + 2 * DAYS),
        stamp(T0 + 1.8 * DAYS),
    ]
    assert all(e.data["ledger_seq"] is None and b"alice" not in str(e.data).encode() for e in soon)


def test_crowd_moved_from_the_baseline_at_most_hourly(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    def moves(threshold: float = 0.1) -> int:
        return send_crowd_moves(db.write_engine, clock, threshold)

    make_claim(client, tokens.editor, slug="m", closes_at=T0 + 30 * DAYS)
    assert moves() == 0  # no crowd yet
    post(client, tokens.alice, "/claims/m/forecasts", {"probability": 0.3})
    assert moves() == 0  # the first crowd is the baseline
    post(client, tokens.alice, "/claims/m/forecasts", {"probability": 0.35})
    assert moves() == 0  # 0.05 is too little
    assert moves(threshold=0.04) == 1
    post(client, tokens.alice, "/claims/m/forecasts", {"probability": 0.6})
    assert moves() == 0  # within the hour of the last notice
    clock.advance(hours=1)
    assert moves() == 1
    assert moves() == 0  # the crowd became the baseline
    [first, second] = [e for e in events(db) if e.name == "crowd.moved"]
    assert first.data["previous"] == 0.3 and first.data["crowd"] == 0.35
    assert second.data["previous"] == 0.35 and second.data["crowd"] == 0.6
    assert set(second.data) == {"claim", "kind", "crowd", "previous", "change", "forecasters", "at"}
    assert second.data["forecasters"] == 1 and abs(second.data["change"] - 0.25) < 1e-9
    assert second.data["claim"] == "m" and "alice" not in str(second.data)


def test_the_first_baseline_is_the_claims_first_crowd_not_the_first_the_job_saw(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    """A crowd that moved before the job first looked is a move from its first crowd."""
    make_claim(client, tokens.editor, slug="f", closes_at=T0 + 30 * DAYS)
    post(client, tokens.alice, "/claims/f/forecasts", {"probability": 0.2})
    post(client, tokens.bob, "/claims/f/forecasts", {"probability": 0.9})  # the newer: 0.9
    assert send_crowd_moves(db.write_engine, clock, 0.1) == 1
    assert send_crowd_moves(db.write_engine, clock, 0.1) == 0
    [moved] = [e.data for e in events(db) if e.name == "crowd.moved"]
    assert (moved["previous"], moved["crowd"], moved["forecasters"]) == (0.2, 0.9, 2)
    assert moved["change"] == pytest.approx(0.7)


def test_crowd_moved_of_other_kinds_by_the_largest_option_or_the_medians_change(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    """Multiple choice moves by its largest option change; a numeric claim by its median's
    change on the internal scale (SPEC §9), shown in real units."""
    choice = make_kind_claim(client, tokens.editor, "multiple_choice", closes_at=T0 + 30 * DAYS)
    number = make_kind_claim(client, tokens.editor, "numeric", closes_at=T0 + 30 * DAYS)
    at_first = {"Sora": 0.2, "Veo": 0.5, "Another product": 0.3}
    post(client, tokens.alice, f"/claims/{choice['slug']}/forecasts", {"probabilities": at_first})
    median = [[0.1, 200_000], [0.5, 1_000_000], [0.9, 5_000_000]]
    post(client, tokens.alice, f"/claims/{number['slug']}/forecasts", {"quantiles": median})
    assert send_crowd_moves(db.write_engine, clock, 0.1) == 0  # the first crowds: baselines
    later = {"Sora": 0.25, "Veo": 0.35, "Another product": 0.4}  # Veo moves most: 0.15
    post(client, tokens.alice, f"/claims/{choice['slug']}/forecasts", {"probabilities": later})
    higher = [[0.1, 2_000_000], [0.5, 10_000_000], [0.9, 50_000_000]]  # a decade up
    post(client, tokens.alice, f"/claims/{number['slug']}/forecasts", {"quantiles": higher})
    assert send_crowd_moves(db.write_engine, clock, 0.2) == 1  # only the median moved 1/3
    assert send_crowd_moves(db.write_engine, clock, 0.14) == 1  # now the options' 0.15
    moved = {e.data["kind"]: e.data for e in events(db) if e.name == "crowd.moved"}
    assert set(moved) == {"multiple_choice", "numeric"}
    assert moved["multiple_choice"]["crowd"] == pytest.approx(later)
    assert moved["multiple_choice"]["previous"] == pytest.approx(at_first)
    assert moved["multiple_choice"]["change"] == pytest.approx(0.15)
    numeric = moved["numeric"]
    # the median lands at the quantile's value (0.98 of G plus 0.02 of u keeps it close)
    assert numeric["previous"] == pytest.approx(1_000_000, rel=0.1)
    assert numeric["crowd"] == pytest.approx(10_000_000, rel=0.1)
    assert numeric["change"] == pytest.approx(1 / 3, abs=0.02)  # one decade of three
