"""Resolution, scores, leaderboard and forecaster profiles through the HTTP interface."""

from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text

from claims.clock import stamp
from forecasts.ledger.lru import LRUCache
from forecasts.ledger.models import SHELF_ROWS
from forecasts.ledger.tables import scores_t
from forecasts.score_math.aggregates import Murphy
from forecasts.score_math.batch_scoring import ScoreColumns
from forecasts.score_math.scoring import SCORE_FIELDS, ScoreRow
from forecasts.scores.leaderboard import (
    INTERVAL_CACHE_SIZE,
    forecaster_profile,
    leaderboard,
    mean_brier_interval,
    of_handle,
)
from tests.conftest import ON_POSTGRES, Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from web.api.scores import ClaimScoreOut, MurphyOut, ScoreOut
from web.db import Database

CLOSES = T0 + timedelta(days=10)


def _forecast(client: TestClient, token: str, slug: str, p: float) -> None:
    response = client.post(
        f"/api/v1/claims/{slug}/forecasts", json={"probability": p}, headers=auth(token)
    )
    assert response.status_code == 201, response.text


def _resolve(client: TestClient, token: str | None, slug: str, **body: Any) -> Any:
    headers = auth(token) if token else {}
    return client.post(f"/api/v1/claims/{slug}/resolution", json=body, headers=headers)


def _claim_with_forecasts(
    client: TestClient,
    clock: FakeClock,
    tokens: Tokens,
    slug: str,
    forecasts: dict[str, float],
    **window: Any,
) -> None:
    clock.set(T0)
    make_claim(client, tokens.editor, slug=slug, opens_at=T0, closes_at=CLOSES, **window)
    clock.set(T0 + timedelta(days=1))
    for handle, p in forecasts.items():
        _forecast(client, getattr(tokens, handle), slug, p)
        clock.advance(hours=1)


def test_resolution_status_codes(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    _claim_with_forecasts(client, clock, tokens, "c1", {"alice": 0.7})
    assert _resolve(client, None, "c1", outcome="yes").status_code == 401
    assert _resolve(client, "not-a-token", "c1", outcome="yes").status_code == 401
    assert _resolve(client, tokens.alice, "c1", outcome="yes").status_code == 403
    assert _resolve(client, tokens.editor, "nope", outcome="yes").status_code == 404
    assert _resolve(client, tokens.editor, "c1", outcome="yes").status_code == 409  # still open
    for body in (
        {"outcome": "maybe"},
        {},
        {"outcome": "yes", "closed_at": "2026-01-02T00:00:00"},  # naive
        {"outcome": "yes", "closed_at": stamp(clock.now + timedelta(days=1))},  # future
        {"outcome": "yes", "closed_at": stamp(T0 - timedelta(days=1))},  # before opens_at
        {"outcome": "yes", "note": "bad\x00byte"},
        {"outcome": "yes", "extra": 1},
    ):
        response = _resolve(client, tokens.editor, "c1", **body)
        assert response.status_code == 422, (body, response.text)
    assert client.get("/api/v1/claims/c1/scores").status_code == 409
    assert client.get("/api/v1/claims/nope/scores").status_code == 404
    closed_at = stamp(clock.now - timedelta(minutes=1))
    response = _resolve(client, tokens.editor, "c1", outcome="yes", closed_at=closed_at)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "resolved" and body["closed_at"] == closed_at
    assert [r["handle"] for r in client.get("/api/v1/claims/c1/scores").json()["items"]] == [
        "alice",
        "@crowd",
    ]


def test_draft_scores_are_hidden(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, slug="draft-claim", status="draft")
    assert client.get("/api/v1/claims/draft-claim/scores").status_code == 404
    response = client.get("/api/v1/claims/draft-claim/scores", headers=auth(tokens.editor))
    assert response.status_code == 409
    assert _resolve(client, tokens.editor, "draft-claim", outcome="yes").status_code == 409


def _board(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/leaderboard", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _three_resolved(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    _claim_with_forecasts(client, clock, tokens, "c1", {"alice": 0.9, "bob": 0.4})
    _claim_with_forecasts(client, clock, tokens, "c2", {"alice": 0.2, "bob": 0.5})
    _claim_with_forecasts(client, clock, tokens, "c3", {"alice": 0.6})
    clock.set(CLOSES + timedelta(hours=1))
    for slug, outcome in (("c1", "yes"), ("c2", "no"), ("c3", "yes")):
        assert _resolve(client, tokens.editor, slug, outcome=outcome).status_code == 200


def test_leaderboard(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    assert _board(client) == {"items": [], "next_cursor": None}
    _three_resolved(client, clock, tokens)
    rows = _board(client)["items"]
    by_handle = {row["handle"]: row for row in rows}
    assert set(by_handle) == {"alice", "bob", "@crowd"}
    alice = by_handle["alice"]
    assert alice["claims_scored"] == 3
    assert alice["mean_brier"] == pytest.approx((0.01 + 0.04 + 0.16) / 3)
    low, high = alice["mean_brier_ci"]
    assert low <= alice["mean_brier"] <= high
    assert by_handle["bob"]["claims_scored"] == 2
    means = [row["mean_brier"] for row in rows]
    assert means == sorted(means)  # best (lowest) first
    assert _board(client)["items"] == rows  # the interval is stable (seeded by the handle)
    assert {r["handle"] for r in _board(client, min_claims=3)["items"]} == {"alice", "@crowd"}
    assert by_handle["@crowd"]["market_points"] is None
    assert alice["market_points"] is not None
    expected_peer = (
        sum(
            r["peer_score"]
            for slug in ("c1", "c2", "c3")
            for r in client.get(f"/api/v1/claims/{slug}/scores").json()["items"]
            if r["handle"] == "alice"
        )
        / 10
    )  # Σ coverage < K = 10
    assert alice["peer_accuracy"] == pytest.approx(expected_peer)

    peer = _board(client, metric="peer_accuracy")["items"]
    assert [r["peer_accuracy"] for r in peer] == sorted(
        (r["peer_accuracy"] for r in peer), reverse=True
    )
    for metric in ("mean_time_averaged_brier", "baseline_total", "market_points", "claims_scored"):
        assert len(_board(client, metric=metric)["items"]) == 3
    assert client.get("/api/v1/leaderboard", params={"metric": "luck"}).status_code == 422
    assert client.get("/api/v1/leaderboard", params={"min_claims": -1}).status_code == 422
    assert client.get("/api/v1/leaderboard", params={"cursor": "%%%"}).status_code == 422


def test_leaderboard_pagination(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    _three_resolved(client, clock, tokens)
    whole = _board(client)["items"]
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = _board(client, **params)
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole


def test_scores_pagination(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    _three_resolved(client, clock, tokens)
    first = client.get("/api/v1/claims/c1/scores", params={"limit": 2}).json()
    assert [r["handle"] for r in first["items"]] == ["alice", "bob"]
    rest = client.get(
        "/api/v1/claims/c1/scores", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [r["handle"] for r in rest["items"]] == ["@crowd"] and rest["next_cursor"] is None


def test_forecaster_profile(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    # c1 resolves when expected; c2 is resolved before its resolves_at, which is still ahead
    _claim_with_forecasts(client, clock, tokens, "c1", {"alice": 0.91})
    _claim_with_forecasts(
        client,
        clock,
        tokens,
        "c2",
        {"alice": 0.35},
        resolves_at=CLOSES + timedelta(days=30),
    )
    clock.set(CLOSES + timedelta(hours=1))
    assert _resolve(client, tokens.editor, "c1", outcome="no").status_code == 200
    assert _resolve(client, tokens.editor, "c2", outcome="yes").status_code == 200

    assert client.get("/api/v1/forecasters/nobody").status_code == 404
    profile = client.get("/api/v1/forecasters/alice").json()
    assert profile["handle"] == "alice"
    assert {row["claim"] for row in profile["scores"]} == {"c1", "c2"}
    assert profile["summary"]["claims_scored"] == 2
    assert profile["summary"]["mean_brier"] == pytest.approx((0.91**2 + 0.65**2) / 2)
    calibration = profile["calibration"]
    assert [cell["bin"] for cell in calibration] == list(range(10))
    assert sum(cell["count"] for cell in calibration) == 1  # only c1 has reached resolves_at
    assert calibration[9] == {
        "bin": 9,
        "mean_forecast": pytest.approx(0.91),
        "observed_frequency": 0.0,
        "count": 1,
    }
    assert calibration[0]["mean_forecast"] is None
    murphy = profile["murphy"]
    assert murphy["count"] == 1 and murphy["brier"] == pytest.approx(0.91**2)
    parts = murphy["reliability"] - murphy["resolution"] + murphy["uncertainty"]
    assert parts + murphy["within_bin"] == pytest.approx(murphy["brier"])

    clock.set(CLOSES + timedelta(days=31))  # now c2's resolves_at has passed too
    later = client.get("/api/v1/forecasters/alice").json()
    assert sum(cell["count"] for cell in later["calibration"]) == 2
    crowd = client.get("/api/v1/forecasters/@crowd").json()
    assert crowd["summary"]["claims_scored"] == 2
    assert client.get("/api/v1/forecasters/bob").json()["summary"] is None


def test_openapi_declares_the_errors(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/api/v1/claims/{slug}/resolution", "post"): {"401", "403", "404", "409", "422"},
        ("/api/v1/claims/{slug}/scores", "get"): {"404", "409", "422"},
        ("/api/v1/leaderboard", "get"): {"422"},
        ("/api/v1/forecasters/{handle}", "get"): {"404"},
    }
    for (path, method), codes in expected.items():
        assert codes <= set(paths[path][method]["responses"]), path


def test_profile_reads_every_shelf(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    """A forecaster's rows are found on every shelf of `ix_scores_shelf_handle`."""
    _three_resolved(client, clock, tokens)

    def interval() -> tuple[float, float] | None:
        with db.writing() as session:
            return mean_brier_interval(session, "alice", revision=0)

    before = interval()
    with db.writing() as session:  # c1's rows onto shelf 2, c2's onto 3, c3's onto 5
        for slug, shelf in (("c3", 5), ("c2", 3), ("c1", 2)):
            session.connection().execute(
                text(
                    "UPDATE scores SET id = id + :shift WHERE claim_id = "
                    "(SELECT id FROM claims WHERE slug = :slug)"
                ),
                {"shift": shelf * SHELF_ROWS, "slug": slug},
            )
        session.commit()
    assert interval() == before
    _claim_with_forecasts(client, clock, tokens, "c4", {"alice": 0.5})
    clock.set(CLOSES + timedelta(hours=1))
    assert _resolve(client, tokens.editor, "c4", outcome="no").status_code == 200
    profile = client.get("/api/v1/forecasters/alice").json()
    assert sorted(row["claim"] for row in profile["scores"]) == ["c1", "c2", "c3", "c4"]
    assert profile["summary"]["claims_scored"] == 4
    with db.writing() as session:
        query = select(scores_t.c.id).where(of_handle(session, "alice"))
        shelves = {row_id // SHELF_ROWS for (row_id,) in session.connection().execute(query)}
        # c4's rows: SQLite numbers them after the highest id, PostgreSQL's sequence goes on
        assert shelves == ({0, 2, 3, 5} if ON_POSTGRES else {2, 3, 5})
        named = str(of_handle(session, "alice").compile(compile_kwargs={"literal_binds": True}))
        span = ", ".join(str(n) for n in range(min(shelves), 6))
        assert f"IN ({span})" in named  # from the lowest id's shelf (2 on SQLite), not from 0
    if not ON_POSTGRES:  # the profile's query, as sent, seeks the index shelf by shelf
        sent: list[tuple[str, Any]] = []
        listen = event.listens_for(db.read_engine, "before_cursor_execute")
        listen(lambda _c, _cur, statement, parameters, *_: sent.append((statement, parameters)))
        with db.reading() as session:
            forecaster_profile(session, "alice", now=clock.now)
            statement, parameters = next(s for s in sent if "JOIN claims" in s[0])
            plan = session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            )
            seek = "ix_scores_shelf_handle (<expr>=? AND handle=?)"
            assert any(seek in str(step) for step in plan.all()), plan


def test_a_cold_leaderboard_page_reads_every_interval_at_once(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    _three_resolved(client, clock, tokens)
    sent: list[str] = []
    listen = event.listens_for(db.read_engine, "before_cursor_execute")
    listen(lambda _c, _cur, statement, *_: sent.append(statement))
    with db.reading() as session:
        page, _ = leaderboard(session, cache=LRUCache(INTERVAL_CACHE_SIZE))
        queries = [statement for statement in sent if statement.startswith("SELECT")]
        assert len(queries) == 3, queries  # the totals, the shelves, every brier of the page
        for row in page:
            assert row.mean_brier_ci == mean_brier_interval(session, row.handle, revision=0)
    assert {row.handle for row in page} == {"alice", "bob", "@crowd"}
    assert all(row.mean_brier_ci is not None for row in page)


def test_every_list_of_score_fields_follows_the_one_declaration() -> None:
    """ScoreRow's fields (SCORE_FIELDS) are the figures everywhere a row of scores appears,
    in the same order: a field added to one place and not the others fails here."""
    scores = list(SCORE_FIELDS)
    assert scores == [f.name for f in fields(ScoreRow)][1:]
    assert list(ScoreOut.model_fields) == ["handle", *scores]
    assert list(ClaimScoreOut.model_fields) == [
        "handle",
        *scores,
        "claim",
        "outcome",
        "probability_at_close",
    ]
    assert [f.name for f in fields(ScoreColumns)][2:-2] == scores
    assert [c.name for c in scores_t.c][
        4 : 4 + len(scores)
    ] == scores  # after id, claim, account, handle
    assert list(MurphyOut.model_fields) == [f.name for f in fields(Murphy)]
