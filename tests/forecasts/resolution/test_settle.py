"""Settling claims: the worked examples end to end, re-resolution, annulment, one transaction."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

import forecasts.resolution.settle
from claims.clock import parse_stamp, stamp
from claims.errors import Conflict, Invalid
from claims.lifecycle import get_claim
from claims.models import Claim
from forecasts.ledger.models import ForecasterTotals, LedgerEntry, Score
from forecasts.resolution.settle import settle_claim
from forecasts.scores.rescore import rescore_all
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_account, make_claim
from web.db import Database

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "scoring-examples.json"
FIELDS = [
    "brier",
    "log_score",
    "time_averaged_brier",
    "coverage",
    "baseline_score",
    "peer_score",
    "market_points",
]
SLUG = "settled-claim"


def _examples() -> list[Any]:
    return [pytest.param(e, id=e["name"]) for e in json.loads(EXAMPLES.read_text())["examples"]]


def _forecast(
    client: TestClient, clock: FakeClock, token: str, at: datetime, p: float | None, slug: str
) -> None:
    clock.set(at)
    if p is None:
        response = client.post(f"/api/v1/claims/{slug}/withdraw", headers=auth(token))
    else:
        response = client.post(
            f"/api/v1/claims/{slug}/forecasts", json={"probability": p}, headers=auth(token)
        )
    assert response.status_code == 201, response.text


def _scores(client: TestClient, slug: str = SLUG) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/claims/{slug}/scores", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {row["handle"]: row for row in response.json()["items"]}


def _resolve(client: TestClient, token: str, slug: str = SLUG, **body: Any) -> Any:
    return client.post(f"/api/v1/claims/{slug}/resolution", json=body, headers=auth(token))


@pytest.mark.parametrize("example", _examples())
def test_worked_example_through_the_api(
    example: dict[str, Any], client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    opens_at, closes_at = parse_stamp(example["opens_at"]), parse_stamp(example["closes_at"])
    closed_at = parse_stamp(example["closed_at"])
    clock.set(opens_at - timedelta(hours=1))
    make_claim(client, tokens.editor, slug=SLUG, opens_at=opens_at, closes_at=closes_at)
    known = {"alice": tokens.alice, "bob": tokens.bob}
    for event in example["events"]:
        handle = event["handle"]
        if handle not in known:
            known[handle] = make_account(db, handle=handle)
        _forecast(
            client, clock, known[handle], parse_stamp(event["at"]), event["probability"], SLUG
        )
    clock.set(closed_at + timedelta(hours=1))
    early = {"closed_at": example["closed_at"]} if closed_at < closes_at else {}
    response = _resolve(client, tokens.editor, outcome=example["outcome"], **early)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved"
    assert response.json()["outcome"] == example["outcome"]

    got = _scores(client)
    assert set(got) == set(example["scores"])
    for handle, expected in example["scores"].items():
        for field in FIELDS:
            if expected[field] is None:
                assert got[handle][field] is None, (handle, field)
            else:
                assert got[handle][field] == pytest.approx(expected[field], abs=1e-9), (
                    handle,
                    field,
                )


def _setup_two_forecasters(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, slug=SLUG, opens_at=T0, closes_at=T0 + timedelta(days=10))
    _forecast(client, clock, tokens.alice, T0 + timedelta(days=1), 0.8, SLUG)
    _forecast(client, clock, tokens.bob, T0 + timedelta(days=2), 0.3, SLUG)
    clock.set(T0 + timedelta(days=11))


def _kinds(client: TestClient) -> list[str]:
    return [entry["kind"] for entry in client.get("/api/v1/ledger").json()["items"]]


def test_re_resolution_flips_the_scores_and_the_totals(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    assert _scores(client)["alice"]["brier"] == pytest.approx(0.04)
    board = {r["handle"]: r for r in client.get("/api/v1/leaderboard").json()["items"]}
    assert board["alice"]["mean_brier"] == pytest.approx(0.04)

    response = _resolve(client, tokens.editor, outcome="no", note="misread the source")
    assert response.status_code == 200 and response.json()["outcome"] == "no"
    assert _scores(client)["alice"]["brier"] == pytest.approx(0.64)
    assert _scores(client)["bob"]["brier"] == pytest.approx(0.09)
    board = {r["handle"]: r for r in client.get("/api/v1/leaderboard").json()["items"]}
    assert board["alice"]["mean_brier"] == pytest.approx(0.64)
    assert board["alice"]["claims_scored"] == 1
    assert _kinds(client)[-3:] == ["claim_closed", "resolution_finalised", "re_resolved"]
    last = client.get("/api/v1/ledger").json()["items"][-1]["payload"]
    assert last["outcome"] == "no" and last["previous"] == "yes" and last["by"] == "eddie"


def _score_ids(db: Database, slug: str = SLUG) -> list[tuple[int, str]]:
    with db.reading() as session:
        claim_id = get_claim(session, slug).id
        query = select(Score.id, Score.handle).where(Score.claim_id == claim_id)  # type: ignore[arg-type]
        return [(int(i), str(h)) for i, h in session.execute(query.order_by(Score.id))]  # type: ignore[arg-type]


def test_re_resolution_rewrites_the_rows_in_handle_order(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    first = _score_ids(db)
    assert [handle for _, handle in first] == ["alice", "bob", "@crowd"]
    assert _resolve(client, tokens.editor, outcome="no").status_code == 200
    assert _score_ids(db) == first  # the same forecasters: the same rows, rewritten
    # closed before bob's forecast: bob has no row, and the rows are written afresh
    early = stamp(T0 + timedelta(days=1, hours=12))
    assert _resolve(client, tokens.editor, outcome="no", closed_at=early).status_code == 200
    again = _score_ids(db)
    assert [handle for _, handle in again] == ["alice", "@crowd"]


def test_rescore_replaces_the_rows_and_turns_foreign_keys_back_on(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    before = _scores(client)
    with db.writing() as session:
        report = rescore_all(session, now=clock())
    assert report.rows == 3
    after = _scores(client)
    assert {h: [r[f] for f in FIELDS] for h, r in after.items()} == {
        h: [r[f] for f in FIELDS] for h, r in before.items()
    }
    if db.is_sqlite:
        with db.writing() as session:
            pragma = session.connection().exec_driver_sql("PRAGMA foreign_keys")
            assert pragma.scalar_one() == 1


def test_annulment_removes_the_scores_and_the_totals(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    response = _resolve(client, tokens.editor, outcome="annulled", note="premise failed")
    assert response.status_code == 200
    assert response.json()["status"] == "annulled" and response.json()["outcome"] is None
    assert client.get(f"/api/v1/claims/{SLUG}/scores").status_code == 409
    assert client.get("/api/v1/leaderboard").json()["items"] == []
    assert _kinds(client)[-1] == "annulled"
    # and back again: the scores return
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    assert set(_scores(client)) == {"alice", "bob", "@crowd"}
    assert _kinds(client)[-1] == "re_resolved"


def test_ambiguous_claims_have_no_scores(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    response = _resolve(client, tokens.editor, outcome="ambiguous")
    assert response.status_code == 200 and response.json()["status"] == "ambiguous"
    assert client.get(f"/api/v1/claims/{SLUG}/scores").status_code == 409
    assert _kinds(client)[-2:] == ["claim_closed", "resolution_finalised"]


def test_early_close_ignores_forecasts_from_closed_at(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    make_claim(client, tokens.editor, slug=SLUG, opens_at=T0, closes_at=T0 + timedelta(days=10))
    _forecast(client, clock, tokens.alice, T0 + timedelta(days=1), 0.8, SLUG)
    _forecast(client, clock, tokens.bob, T0 + timedelta(days=3), 0.3, SLUG)
    clock.set(T0 + timedelta(days=4))
    closed_at = stamp(T0 + timedelta(days=2))
    response = _resolve(client, tokens.editor, outcome="yes", closed_at=closed_at)
    assert response.status_code == 200, response.text
    assert response.json()["closed_at"] == closed_at
    scores = _scores(client)
    assert set(scores) == {"alice", "@crowd"}  # bob forecast after Tc
    assert scores["alice"]["coverage"] == pytest.approx(0.1, abs=1e-9)
    closed = [
        e for e in client.get("/api/v1/ledger").json()["items"] if e["kind"] == "claim_closed"
    ]
    assert closed[0]["payload"]["closed_at"] == closed_at
    # the claim no longer takes forecasts
    clock.set(T0 + timedelta(days=5))
    refused = client.post(
        f"/api/v1/claims/{SLUG}/forecasts", json={"probability": 0.5}, headers=auth(tokens.bob)
    )
    assert refused.status_code == 409


def _claim(session: Session) -> Claim:
    return get_claim(session, SLUG)


def test_settle_refusals(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    make_claim(client, tokens.editor, slug=SLUG, opens_at=T0, closes_at=T0 + timedelta(days=10))
    make_claim(client, tokens.editor, slug="a-draft", status="draft")
    now = T0 + timedelta(days=5)
    with db.writing() as session:
        with pytest.raises(Conflict):
            settle_claim(session, _claim(session), "yes", now=now)
        session.rollback()
        for bad in (now + timedelta(hours=1), T0 - timedelta(hours=1)):
            with pytest.raises(Invalid):
                settle_claim(session, _claim(session), "yes", now=now, closed_at=bad)
            session.rollback()
        with pytest.raises(Conflict):
            settle_claim(session, get_claim(session, "a-draft"), "yes", now=now)
        session.rollback()
        with pytest.raises(Invalid):
            settle_claim(session, _claim(session), "maybe", now=now)  # type: ignore[arg-type]
        session.rollback()
    with db.reading() as session:
        assert _claim(session).state == "published"
        kinds = session.exec(select(LedgerEntry.kind)).all()  # type: ignore[call-overload]
        assert [k for (k,) in kinds] == ["claim_published"]  # the draft is not in the ledger


def test_state_and_scores_commit_together(
    client: TestClient,
    clock: FakeClock,
    db: Database,
    tokens: Tokens,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    real = forecasts.resolution.settle.replace_claim_scores
    seen: list[tuple[str, int]] = []

    def observed(session: Session, claim: Claim, *, now: datetime) -> int:
        written = real(session, claim, now=now)
        # a reader while the transaction is open sees neither the new state nor the scores
        with db.reading() as reader:
            state = _claim(reader).state
            rows = reader.exec(select(Score.id)).all()  # type: ignore[call-overload]
        seen.append((state, len(rows)))
        return written

    monkeypatch.setattr(forecasts.resolution.settle, "replace_claim_scores", observed)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    assert seen == [("published", 0)]
    assert len(_scores(client)) == 3

    def failing(session: Session, claim: Claim, *, now: datetime) -> int:
        real(session, claim, now=now)
        raise RuntimeError("crash after the scores, before the commit")

    monkeypatch.setattr(forecasts.resolution.settle, "replace_claim_scores", failing)
    with db.writing() as session, pytest.raises(RuntimeError):
        settle_claim(session, _claim(session), "no", now=clock())
    with db.reading() as session:
        assert _claim(session).outcome == "yes"
        assert session.get(ForecasterTotals, "alice").mean_brier == pytest.approx(0.04)  # type: ignore[union-attr]
    assert _kinds(client)[-1] == "resolution_finalised"
    assert _scores(client)["alice"]["brier"] == pytest.approx(0.04)


def test_incremental_totals_match_a_full_rescore(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    for index, (p_alice, p_bob) in enumerate([(0.8, 0.3), (0.4, 0.6), (0.9, 0.1)]):
        slug = f"claim-{index}"
        clock.set(T0)
        make_claim(client, tokens.editor, slug=slug, opens_at=T0, closes_at=T0 + timedelta(days=10))
        _forecast(client, clock, tokens.alice, T0 + timedelta(days=1), p_alice, slug)
        _forecast(client, clock, tokens.bob, T0 + timedelta(days=2 + index), p_bob, slug)
        if index == 2:
            _forecast(client, clock, tokens.bob, T0 + timedelta(days=6), None, slug)
    clock.set(T0 + timedelta(days=11))
    for slug, outcomes in [("claim-0", ["yes", "no"]), ("claim-1", ["no"]), ("claim-2", ["yes"])]:
        for outcome in outcomes:
            assert _resolve(client, tokens.editor, slug=slug, outcome=outcome).status_code == 200
    assert _resolve(client, tokens.editor, slug="claim-1", outcome="annulled").status_code == 200

    def totals() -> dict[str, dict[str, Any]]:
        with db.reading() as session:
            rows = session.exec(select(ForecasterTotals)).all()  # type: ignore[call-overload]
            return {t.handle: t.model_dump(exclude={"revision"}) for (t,) in rows}

    incremental = totals()
    with db.writing() as session:
        report = rescore_all(session, now=clock())
    assert report.claims == 2 and report.handles == 3
    rebuilt = totals()
    assert set(incremental) == set(rebuilt) == {"alice", "bob", "@crowd"}
    for handle, row in rebuilt.items():
        for name, value in row.items():
            expected = pytest.approx(value, abs=1e-12) if isinstance(value, float) else value
            assert incremental[handle][name] == expected, (handle, name)
    assert incremental["bob"]["brier_count"] == 1  # nothing standing at the close of claim-2
    assert incremental["bob"]["claims_scored"] == 2


def test_importing_into_a_resolved_claim_rescores_it(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    rows = [
        {
            "claim": SLUG,
            "handle": "ada",
            "probability": 0.9,
            "created_at": stamp(T0 + timedelta(days=5)),
        }
    ]
    response = client.post("/api/v1/import/forecasts", json=rows, headers=auth(tokens.admin))
    assert response.status_code == 201, response.text
    scores = _scores(client)
    assert scores["ada"]["brier"] == pytest.approx(0.01)
    assert scores["ada"]["coverage"] == pytest.approx(0.5, abs=1e-9)
    board = {r["handle"]: r for r in client.get("/api/v1/leaderboard").json()["items"]}
    assert board["ada"]["claims_scored"] == 1 and board["@crowd"]["claims_scored"] == 1


def test_score_times_are_stored_like_every_other_time(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    _setup_two_forecasters(client, clock, tokens)
    assert _resolve(client, tokens.editor, outcome="yes").status_code == 200
    with db.reading() as session:
        stored = session.connection().exec_driver_sql(
            "SELECT s.resolves_at, c.resolves_at FROM scores s JOIN claims c ON c.id = s.claim_id"
        )
        pairs = stored.all()
    assert len(pairs) == 3 and all(ours == theirs for ours, theirs in pairs)


def test_the_chain_verifies_after_settlements(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    from forecasts.archive.verify import verify_database

    _setup_two_forecasters(client, clock, tokens)
    for outcome in ("yes", "no", "annulled", "ambiguous", "yes"):
        assert _resolve(client, tokens.editor, outcome=outcome).status_code == 200
    assert _kinds(client)[-5:] == [
        "resolution_finalised",
        "re_resolved",
        "annulled",
        "re_resolved",
        "re_resolved",
    ]
    with db.reading() as session:
        report = verify_database(session)
    assert report.problems == []
