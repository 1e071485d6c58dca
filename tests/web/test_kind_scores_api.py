"""SPEC §7's worked examples through the production path: claims of each kind created by
API, their forecasts recorded with packed distributions, scores written in the resolution's
transaction (and again by a full rescore), read back through GET /claims/{slug}/scores."""

from datetime import timedelta
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
from forecasts.ledger.models import Forecast, Score
from forecasts.ledger.packing import pack
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
