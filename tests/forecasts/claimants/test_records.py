"""Track records: the time average by hand, the record moving in the transaction of a
re-resolution (a concurrent reader never sees one without the other), verify over claimants."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from claims.lifecycle import get_claim
from forecasts.archive.verify import verify_database
from forecasts.claimants.reading import claimant_detail
from forecasts.resolution.settle import settle_claim
from forecasts.score_math.consensus import consensus, time_average
from tests import claimant_example as example
from tests.conftest import Tokens
from tests.factories import (
    FakeClock,
    auth,
    make_claim,
    make_claimant,
    make_free_text_claim,
    rewrite_behind_the_app,
)
from web.db import Database

DAY = timedelta(days=1)
START = datetime(2026, 1, 1, tzinfo=UTC)


def test_time_average_counts_only_where_the_crowd_exists() -> None:
    steps = [(START - DAY, 0.9), (START + 2 * DAY, None), (START + 4 * DAY, 0.3)]
    # 0.9 over [0, 2] (clipped at the start), nothing over [2, 4], 0.3 over [4, 8]
    mean = time_average(steps, start=START, end=START + 8 * DAY)
    assert mean == pytest.approx((0.9 * 2 + 0.3 * 4) / 6, abs=1e-12)
    assert time_average([], start=START, end=START + DAY) is None
    late = [(START + 2 * DAY, 0.4)]
    assert time_average(late, start=START, end=START + DAY) is None  # after Tc: no crowd
    denied = consensus(steps, opens_at=START, closed_at=START + 8 * DAY, asserts=False)
    assert denied == pytest.approx(1 - 0.5, abs=1e-12)


def _hit_rate_matches_outcome(db: Database) -> tuple[str | None, float | None]:
    with db.reading() as session:
        detail = claimant_detail(session, example.CLAIMANT, now=example.CLOSES + 3 * DAY)
    [asserted] = [claim for claim in detail.claims if claim.claim == "asserted"]
    return asserted.outcome, detail.row.hit_rate


def test_a_re_resolution_moves_the_record_in_the_same_transaction(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    """Readers race a writer flipping `asserted` between yes and no: every read sees the
    outcome with its own record (hit rate 3/4 with yes, 2/4 with no), never the other."""
    example.build(client, clock, tokens, db)
    expected = {"yes": 0.75, "no": 0.5}
    flips = 12
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for turn in range(flips):
                with db.writing() as session:
                    claim = get_claim(session, "asserted")
                    outcome = "no" if turn % 2 == 0 else "yes"
                    at = example.CLOSES + DAY + timedelta(minutes=turn)
                    settle_claim(session, claim, outcome, now=at, by="eddie")
        except BaseException as error:  # surfaced by the main thread
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: set[str] = set()
    reads = 0
    while not done.is_set() or reads < 3:
        outcome, hit_rate = _hit_rate_matches_outcome(db)
        assert outcome is not None
        assert hit_rate == pytest.approx(expected[outcome]), (outcome, hit_rate)
        seen.add(outcome)
        reads += 1
    thread.join()
    assert not errors, errors
    assert seen == {"yes", "no"} or reads >= 3
    assert _hit_rate_matches_outcome(db) == ("yes", pytest.approx(0.75))


def test_verify_names_a_claimant_changed_behind_the_ledger(
    client: TestClient, tokens: Tokens, db: Database, database_url: str
) -> None:
    make_claimant(client, tokens.editor, slug=example.CLAIMANT)
    make_claim(client, tokens.editor, source={"claimant": example.CLAIMANT, "stance": "denies"})
    with db.reading() as session:
        report = verify_database(session)
    assert report.problems == [] and "1 claimants replayed from the ledger" in report.notes
    rewrite_behind_the_app(database_url, "claimants", "UPDATE claimants SET name = 'Someone Else'")
    with db.reading() as session:
        problems = [str(p) for p in verify_database(session).problems]
    assert any("claimant 'analyst': name is 'Someone Else'" in p for p in problems), problems


def test_a_free_text_claimant_is_linked_once_after_the_close_to_its_namesake(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    make_free_text_claim(db, slug="old", claimant="Old Pundit", closes_at=clock.now + DAY)
    make_claimant(client, tokens.editor, slug="pundit", name="Old Pundit")
    make_claimant(client, tokens.editor, slug="other", name="Another")
    clock.advance(days=2)
    url, headers = "/api/v1/claims/old", auth(tokens.editor)
    kept = {"claimant": "Old Pundit", "url": "https://example.org/fixed"}
    fixed = client.patch(url, json={"source": kept}, headers=headers)
    assert fixed.status_code == 200 and fixed.json()["source"]["claimant"] == "Old Pundit"
    wrong = {"claimant": "other", "stance": "asserts"}
    assert client.patch(url, json={"source": wrong}, headers=headers).status_code == 409
    linked = {"claimant": "pundit", "stance": "asserts", "url": "https://example.org/fixed"}
    assert client.patch(url, json={"source": linked}, headers=headers).status_code == 200
    listed = client.get("/api/v1/claims", params={"claimant": "pundit"}).json()["items"]
    assert [claim["slug"] for claim in listed] == ["old"]
    again = {**linked, "stance": "denies"}
    assert client.patch(url, json={"source": again}, headers=headers).status_code == 409
    with db.reading() as session:
        assert not verify_database(session).problems
