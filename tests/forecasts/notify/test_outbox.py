"""The outbox: every change of SPEC §9 writes its event in its own transaction, and only those."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from claims.clock import stamp
from forecasts.notify.models import Event
from forecasts.scores.rescore import rescore_all
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.web.kinds import forecast_body, make_kind_claim
from web.db import Database

API = "/api/v1"
DAYS = timedelta(days=1)


def events(db: Database) -> list[Event]:
    with db.reading() as session:
        return list(session.exec(select(Event).order_by(col(Event.id))))


def post(client: TestClient, token: str, path: str, body: Any = None) -> Any:
    response = client.post(f"{API}{path}", json=body, headers=auth(token))
    assert response.status_code in (200, 201), response.text
    return response.json()


def forecast_on(client: TestClient, tokens: Tokens, slug: str) -> None:
    post(client, tokens.alice, f"/claims/{slug}/forecasts", {"probability": 0.3})
    post(client, tokens.bob, f"/claims/{slug}/forecasts", {"probability": 0.8})


def test_publish_resolve_reresolve_and_annul_each_write_their_events(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(client, tokens.editor, slug="a", closes_at=T0 + 10 * DAYS)
    clock.set(T0 + DAYS)
    forecast_on(client, tokens, "a")
    assert [e.name for e in events(db)] == ["claim.published"]  # submitting writes none
    published = events(db)[0].data
    anonymous = client.get(f"{API}/claims/a").json()
    assert published["claim"].keys() == anonymous.keys()
    assert published["claim"]["my_forecast"] is None and published["url"] is None
    clock.set(T0 + 11 * DAYS)
    post(client, tokens.editor, "/claims/a/resolution", {"outcome": "yes"})
    names = [e.name for e in events(db)]
    assert names == [
        "claim.published",
        "claim.closed",
        "claim.resolved",
        "forecast.scored",
        "forecast.scored",
    ]
    resolved, scored = events(db)[2], events(db)[3:]
    assert resolved.data["outcome"] == "yes" and resolved.data["previous"] is None
    assert resolved.data["claim"]["status"] == "resolved"
    scores = client.get(f"{API}/claims/a/scores").json()["items"]
    for event in scored:
        row = event.data["score"]
        assert event.account_id is not None and row in scores and row["handle"] != "@crowd"
        assert (
            event.data["outcome"] == "yes"
            and event.data["ledger_seq"] == resolved.data["ledger_seq"]
        )
    assert {e.data["score"]["handle"] for e in scored} == {"alice", "bob"}
    post(client, tokens.editor, "/claims/a/resolution", {"outcome": "no"})
    again = events(db)[5:]
    assert [e.name for e in again] == ["claim.resolved", "forecast.scored", "forecast.scored"]
    assert again[0].data["previous"] == "yes"
    post(client, tokens.editor, "/claims/a/resolution", {"outcome": "ambiguous"})
    annulled = events(db)[8:]
    assert [e.name for e in annulled] == ["claim.annulled", "forecast.scored", "forecast.scored"]
    assert annulled[0].data["outcome"] == "ambiguous" and annulled[0].data["previous"] == "no"
    assert all(e.data["score"] is None for e in annulled[1:])
    assert {e.account_id for e in annulled[1:]} == {e.account_id for e in scored}


def test_an_import_into_a_resolved_claim_scores_again_and_says_so(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    """`forecast.scored` to each forecaster with a row after the rescore, the new one too,
    with the claim's outcome and close (SPEC §9); nothing for an import into a closed one."""
    make_claim(client, tokens.editor, slug="h", opens_at=T0, closes_at=T0 + 10 * DAYS)
    clock.set(T0 + DAYS)
    post(client, tokens.alice, "/claims/h/forecasts", {"probability": 0.3})
    clock.set(T0 + 11 * DAYS)
    post(client, tokens.editor, "/claims/h/resolution", {"outcome": "yes"})
    before = len(events(db))
    row = {"claim": "h", "handle": "bob", "probability": 0.8, "created_at": stamp(T0 + 2 * DAYS)}
    post(client, tokens.admin, "/import/forecasts", [row])
    scored = events(db)[before:]
    assert [e.name for e in scored] == ["forecast.scored", "forecast.scored"]
    rows = client.get(f"{API}/claims/h/scores").json()["items"]
    assert sorted(e.data["score"]["handle"] for e in scored) == ["alice", "bob"]
    imported = client.get(f"{API}/ledger").json()["items"][-1]
    for event in scored:
        assert event.data["score"] in rows
        assert event.data["outcome"] == "yes" and event.data["closed_at"] == stamp(T0 + 10 * DAYS)
        assert event.data["ledger_seq"] == imported["seq"]
    make_claim(client, tokens.editor, slug="k", opens_at=T0, closes_at=T0 + 10 * DAYS)
    before = len(events(db))
    post(client, tokens.admin, "/import/forecasts", [{**row, "claim": "k"}])
    assert [e.name for e in events(db)[before:]] == []  # closed, not resolved: no scores


def test_the_close_job_writes_claim_closed_once(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    from web import scheduler

    make_claim(client, tokens.editor, slug="b", closes_at=T0 + DAYS)
    clock.set(T0 + 2 * DAYS)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    scheduler.run_once(ctx)
    scheduler.run_once(ctx)
    closed = [e for e in events(db) if e.name == "claim.closed"]
    assert len(closed) == 1 and closed[0].data["claim"]["status"] == "closed"
    assert closed[0].data["ledger_seq"] is not None


def test_a_change_that_rolls_back_leaves_no_event(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock, monkeypatch: Any
) -> None:
    import forecasts.resolution.settle as settle

    make_claim(client, tokens.editor, slug="c", closes_at=T0 + DAYS)
    clock.set(T0 + 2 * DAYS)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the scores could not be written")

    monkeypatch.setattr(settle, "scored_events", fail)
    with pytest.raises(RuntimeError):
        client.post(
            f"{API}/claims/c/resolution", json={"outcome": "no"}, headers=auth(tokens.editor)
        )
    assert [e.name for e in events(db)] == ["claim.published"]


def test_rescore_writes_no_event(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(client, tokens.editor, slug="d", closes_at=T0 + DAYS)
    forecast_on(client, tokens, "d")
    clock.set(T0 + 2 * DAYS)
    post(client, tokens.editor, "/claims/d/resolution", {"outcome": "yes"})
    before = len(events(db))
    with db.writing() as session:
        rescore_all(session, now=clock())
    assert len(events(db)) == before


def test_the_page_link_is_under_the_public_url(
    db: Database, tokens: Tokens, clock: FakeClock, database_url: str
) -> None:
    from web.app import create_app
    from web.settings import Settings

    settings = Settings(database_url=database_url, rate_limit=0, public_url="https://ledger.test")
    with TestClient(
        create_app(settings, clock=clock, migrate=False), base_url="https://ledger.test"
    ) as client:
        make_claim(client, tokens.editor, slug="e", closes_at=T0 + DAYS)
    [event] = events(db)
    assert event.data["url"] == "https://ledger.test/claims/e"
    assert event.data["ledger_seq"] > 0


def test_events_of_a_numeric_claim_carry_its_outcome_as_the_api_shows_it(
    client: TestClient, db: Database, tokens: Tokens, clock: FakeClock
) -> None:
    """A numeric claim's outcome lives in `outcome_value`: its events show the number."""
    slug = make_kind_claim(client, tokens.editor, "numeric", closes_at=T0 + 10 * DAYS)["slug"]
    clock.set(T0 + DAYS)
    for token in (tokens.alice, tokens.bob):
        post(client, token, f"/claims/{slug}/forecasts", forecast_body("numeric"))
    clock.set(T0 + 11 * DAYS)
    post(client, tokens.editor, f"/claims/{slug}/resolution", {"outcome": 2_100_000})
    resolved = [e for e in events(db) if e.name == "claim.resolved"]
    scored = [e for e in events(db) if e.name == "forecast.scored"]
    assert [e.data["outcome"] for e in resolved] == [2_100_000]
    assert len(scored) == 2 and all(e.data["outcome"] == 2_100_000 for e in scored)
    assert all(e.data["score"]["crps"] is not None for e in scored)
