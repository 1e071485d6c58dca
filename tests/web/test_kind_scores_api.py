"""SPEC §7's worked examples through the production path: claims of each kind created by
API, their forecasts recorded with packed distributions, scores written in the resolution's
transaction (and again by a full rescore), read back through GET /claims/{slug}/scores."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from forecasts.ledger.models import ForecasterTotals, Score
from forecasts.score_math.scoring import CROWD_HANDLE
from forecasts.scores.rescore import rescore_all
from tests.conftest import Tokens
from tests.factories import FakeClock, auth, claim_body, make_account
from tests.oracles.kinds_examples import events_of, load, parse_time
from tests.oracles.scoring import assert_example_rows
from web.db import Database

EXAMPLES = [pytest.param(example, id=example["name"]) for example in load()]
_SPACE = ("range_min", "range_max", "open_lower_bound", "open_upper_bound", "log_scale", "unit")


def _create(client: TestClient, clock: FakeClock, editor: str, example: dict[str, Any]) -> str:
    """The example's claim, published before it opens."""
    clock.set(parse_time(example["opens_at"]) - timedelta(hours=1))
    slug = str(example["name"])
    space = {name: example[name] for name in _SPACE if name in example}
    if example["kind"] == "multiple_choice":
        space["options"] = example["options"]
    body = claim_body(
        slug=slug,
        opens_at=parse_time(example["opens_at"]),
        closes_at=parse_time(example["closes_at"]),
        resolves_at=parse_time(example["resolves_at"]) if "resolves_at" in example else None,
        kind=example["kind"],
        **space,
    )
    response = client.post("/api/v1/claims", json=body, headers=auth(editor))
    assert response.status_code == 201, response.text
    return slug


def _body(example: dict[str, Any], raw: dict[str, Any], stored: list[float]) -> dict[str, Any]:
    """The forecast as a client sends it: probabilities, quantiles, or the CDF itself."""
    if example["kind"] == "multiple_choice":
        return {"probabilities": raw["probabilities"]}
    if "quantiles" in raw:
        return {"quantiles": raw["quantiles"]}
    return {"cdf": stored}


def _submit_and_resolve(
    client: TestClient,
    clock: FakeClock,
    tokens: dict[str, str],
    editor: str,
    example: dict[str, Any],
    crowds: list[Any] | None = None,
) -> str:
    """The example's claim and forecasts through the API at the examples' times, then its
    resolution (with the editor's closed_at for an early close); `crowds` gets the crowd
    that GET /claims/{slug} shows after each event."""
    slug = _create(client, clock, editor, example)
    for event, raw in zip(events_of(example), example["events"], strict=True):
        clock.set(event.at)
        headers = auth(tokens[event.handle])
        if event.distribution is None:
            response = client.post(f"/api/v1/claims/{slug}/withdraw", headers=headers)
        else:
            body = _body(example, raw, event.distribution)
            response = client.post(f"/api/v1/claims/{slug}/forecasts", json=body, headers=headers)
        assert response.status_code == 201, response.text
        if crowds is not None:
            crowds.append(client.get(f"/api/v1/claims/{slug}").json()["crowd"])
    clock.set(parse_time(example["closes_at"]) + timedelta(hours=1))
    resolution: dict[str, Any] = {"outcome": example["outcome"]}
    if example["closed_at"] != example["closes_at"]:
        resolution["closed_at"] = example["closed_at"]
    response = client.post(
        f"/api/v1/claims/{slug}/resolution", json=resolution, headers=auth(editor)
    )
    assert response.status_code == 200, response.text
    return slug


def _accounts(db: Database, tokens: Tokens, examples: list[dict[str, Any]]) -> dict[str, str]:
    handles = {event["handle"] for example in examples for event in example["events"]}
    known = {"alice": tokens.alice, "bob": tokens.bob}
    return known | {h: make_account(db, handle=h) for h in sorted(handles - set(known))}


def _api_rows(client: TestClient, slug: str) -> list[Any]:
    response = client.get(f"/api/v1/claims/{slug}/scores", params={"limit": 500})
    assert response.status_code == 200, response.text

    class Row:
        def __init__(self, fields: dict[str, Any]) -> None:
            self.__dict__.update(fields)

    return [Row(item) for item in response.json()["items"]]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_figure_through_submission_resolution_rescore_and_the_api(
    example: dict[str, Any], client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    clock.step = timedelta(0)  # stamps at the examples' very times
    accounts = _accounts(db, tokens, [example])
    crowds: list[Any] = []
    slug = _submit_and_resolve(client, clock, accounts, tokens.editor, example, crowds)
    assert_example_rows(example["name"], _api_rows(client, slug), example["scores"])
    history = client.get(f"/api/v1/claims/{slug}/history").json()["items"]
    expected = example["crowd_after_each_event"]  # the list stops at the close
    assert len(history) == len(crowds) == len(example["events"]) >= len(expected)
    for live, point, want in zip(crowds, history, expected, strict=False):
        _assert_crowd(example, live, point["crowd"], want)
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


def _assert_crowd(example: dict[str, Any], live: Any, point: Any, want: dict[str, Any]) -> None:
    """The API's crowd (now, and in the history) is the example's after that event."""
    if example["kind"] == "multiple_choice":
        assert live == pytest.approx(want["crowd_probabilities"], abs=1e-9, rel=0)
        assert point == pytest.approx(want["crowd_probabilities"], abs=1e-9, rel=0)
        return
    for i, value in want["crowd_cdf_at"].items():
        assert live["cdf"][int(i)] == pytest.approx(value, abs=1e-9, rel=0)
    medians = [live["quantiles"]["0.5"], point["quantiles"]["0.5"]]
    if example["kind"] == "date":  # ISO times, to the microsecond
        seconds = [parse_time(m).timestamp() for m in [*medians, want["crowd_median"]]]
        assert seconds[0] == seconds[1] == pytest.approx(seconds[2], abs=2e-6)
    else:
        assert medians == pytest.approx([want["crowd_median"]] * 2, abs=1e-9, rel=1e-12)


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
    clock.step = timedelta(0)
    accounts = _accounts(db, tokens, examples)
    handles = set(accounts)
    for example in examples:
        _submit_and_resolve(client, clock, accounts, tokens.editor, example)
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


def test_the_pit_histogram_waits_for_resolves_at(
    client: TestClient, clock: FakeClock, db: Database, tokens: Tokens
) -> None:
    """Like calibration, a claim settled before its resolves_at is left out until then."""
    [example] = [e for e in load() if e["name"] == "numeric-linear-open-inside"]
    later = parse_time(example["closes_at"]) + timedelta(days=30)
    example = {**example, "resolves_at": later.isoformat()}
    clock.step = timedelta(0)
    _submit_and_resolve(client, clock, _accounts(db, tokens, [example]), tokens.editor, example)

    def counted() -> int:
        profile = client.get("/api/v1/forecasters/alice")
        assert profile.status_code == 200, profile.text
        return sum(cell["count"] for cell in profile.json()["pit"])

    assert counted() == 0
    clock.set(later)
    assert counted() == 1


def _coverage(scores: list[dict[str, Any]]) -> float:
    return float(sum(s["coverage"] for s in scores))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9
