"""SPEC §7's worked examples through the production path: claims of each kind created by
API, their forecasts recorded with packed distributions, scores written in the resolution's
transaction (and again by a full rescore), read back through GET /claims/{slug}/scores."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from claims.clock import stamp
from claims.kinds import EntryKind
from claims.models import Claim
from claims.states import ClaimState
from forecasts.accounts.service import get_account
from forecasts.ledger.chain import record
from forecasts.ledger.models import Forecast, ForecasterTotals, Score
from forecasts.ledger.packing import pack
from forecasts.score_math.scoring import CROWD_HANDLE
from forecasts.scores.claim_scores import replace_claim_scores
from forecasts.scores.rescore import rescore_all
from tests.conftest import Tokens
from tests.factories import FakeClock, auth, claim_body, make_account
from tests.oracles.kinds_examples import events_of, load, outcome_of, parse_time
from tests.oracles.scoring import assert_example_rows
from web.db import Database

EXAMPLES = [pytest.param(example, id=example["name"]) for example in load()]
_SPACE = ("range_min", "range_max", "open_lower_bound", "open_upper_bound", "log_scale", "unit")


def _create(client: TestClient, clock: FakeClock, editor: str, example: dict[str, Any]) -> str:
    """The example's claim, created after its close (so it starts closed)."""
    closes_at = parse_time(example["closes_at"])
    clock.set(closes_at + timedelta(days=1))
    slug = str(example["name"])
    space = {name: example[name] for name in _SPACE if name in example}
    if example["kind"] == "multiple_choice":
        space["options"] = example["options"]
    body = claim_body(
        slug=slug,
        opens_at=parse_time(example["opens_at"]),
        closes_at=closes_at,
        kind=example["kind"],
        **space,
    )
    response = client.post("/api/v1/claims", json=body, headers=auth(editor))
    assert response.status_code == 201, response.text
    return slug


def _record_and_resolve(db: Database, clock: FakeClock, slug: str, example: dict[str, Any]) -> None:
    """Each event as an imported forecast with its stored distribution, then the resolution
    (state, outcome and scores in one transaction, as settlement writes them)."""
    with db.writing() as session:
        claim = session.exec(select(Claim).where(Claim.slug == slug)).one()
        assert claim.id is not None
        for event in events_of(example):
            account_id = get_account(session, event.handle).id
            assert account_id is not None
            payload = {"claim": slug, "handle": event.handle, "created_at": stamp(event.at)}
            seq = record(session, EntryKind.FORECAST_IMPORTED, event.at, payload, claim.id)
            packed = None if event.distribution is None else pack(event.distribution)
            session.add(
                Forecast(
                    claim_id=claim.id,
                    account_id=account_id,
                    distribution=packed,
                    created_at=event.at,
                    ledger_seq=seq,
                    imported=True,
                )
            )
        session.flush()
        closed_at = parse_time(example["closed_at"])
        if closed_at < claim.closes_at:
            claim.closed_early_at = closed_at
        claim.state = ClaimState.RESOLVED
        outcome = outcome_of(example)
        if isinstance(outcome, str):
            claim.outcome = outcome
        else:
            claim.outcome_value = outcome
        session.add(claim)
        session.flush()
        replace_claim_scores(session, claim, now=clock())
        session.commit()


def _api_rows(client: TestClient, slug: str) -> list[Any]:
    response = client.get(f"/api/v1/claims/{slug}/scores", params={"limit": 500})
    assert response.status_code == 200, response.text

    class Row:
        def __init__(self, fields: dict[str, Any]) -> None:
            self.__dict__.update(fields)

    return [Row(item) for item in response.json()["items"]]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_figure_through_resolution_rescore_and_the_api(
    example: dict[str, Any], client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    for handle in {event["handle"] for event in example["events"]} - {"alice", "bob"}:
        make_account(db, handle=handle)
    slug = _create(client, clock, tokens.editor, example)
    _record_and_resolve(db, clock, slug, example)
    assert_example_rows(example["name"], _api_rows(client, slug), example["scores"])
    with db.reading() as session:
        stored = {row.handle: row for row in session.exec(select(Score))}
    pits = example.get("pit_at_close", {})
    for handle, row in stored.items():
        if handle in pits:
            assert row.pit == pytest.approx(pits[handle], abs=1e-9, rel=0), handle
        else:
            assert row.pit is None, handle
        assert row.probability_at_close is None  # calibration stays binary
    with db.writing() as session:
        rescore_all(session, now=clock())
    assert_example_rows(example["name"], _api_rows(client, slug), example["scores"])


def _totals(db: Database) -> dict[str, tuple[Any, ...]]:
    with db.reading() as session:
        rows = session.exec(select(ForecasterTotals)).all()
    return {
        row.handle: (row.claims_scored, row.mean_brier, row.mean_crps, row.peer_sum) for row in rows
    }


def test_totals_leaderboard_and_profiles_over_every_kind(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    examples = load()
    handles = {event["handle"] for example in examples for event in example["events"]}
    for handle in handles - {"alice", "bob"}:
        make_account(db, handle=handle)
    for example in examples:
        _record_and_resolve(db, clock, _create(client, clock, tokens.editor, example), example)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))  # every claim's resolves_at has passed
    incremental = _totals(db)
    with db.writing() as session:
        rescore_all(session, now=clock())
    rebuilt = _totals(db)
    assert set(incremental) == set(rebuilt)
    for handle, row in rebuilt.items():
        assert all(_same(a, b) for a, b in zip(row, incremental[handle], strict=True)), handle

    board = client.get("/api/v1/leaderboard", params={"metric": "mean_crps", "limit": 500})
    assert board.status_code == 200, board.text
    rows = {row["handle"]: row for row in board.json()["items"]}
    for handle in handles | {CROWD_HANDLE}:
        scores = [e["scores"][handle] for e in examples if handle in e["scores"]]
        if not scores:  # dan forecast only after an early close
            assert handle not in rows
            continue
        crps = [s["crps"] for s in scores if s["crps"] is not None]
        brier = [s["brier"] for s in scores if s["brier"] is not None]
        row = rows[handle]
        assert row["claims_scored"] == len(scores)
        assert _same(row["mean_crps"], sum(crps) / len(crps) if crps else None), handle
        assert _same(row["mean_brier"], sum(brier) / len(brier) if brier else None), handle
        peer = sum(s["peer_score"] for s in scores)
        assert row["peer_accuracy"] == pytest.approx(peer / max(10.0, _coverage(scores)))
    ordered = [r["mean_crps"] for r in board.json()["items"] if r["mean_crps"] is not None]
    assert ordered == sorted(ordered)  # lower is better

    for handle in ("alice", CROWD_HANDLE):
        profile = client.get(f"/api/v1/forecasters/{handle}")
        assert profile.status_code == 200, profile.text
        body = profile.json()
        pits = [e["pit_at_close"][handle] for e in examples if handle in e.get("pit_at_close", {})]
        counts = [0] * 10
        for value in pits:
            counts[min(int(10 * value), 9)] += 1
        assert body["pit"] == [{"bin": i, "count": n} for i, n in enumerate(counts)]
        assert sum(cell["count"] for cell in body["calibration"]) == 0  # binary only
        outcomes = {row["claim"]: row["outcome"] for row in body["scores"]}
        assert outcomes["mc-three-options-withdrawal"] == "Beta"
        assert outcomes["numeric-linear-open-inside"] == 87.3
        assert outcomes["date-closed-lower"] == "2026-09-14T06:00:00.000000Z"


def _coverage(scores: list[dict[str, Any]]) -> float:
    return float(sum(s["coverage"] for s in scores))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9
