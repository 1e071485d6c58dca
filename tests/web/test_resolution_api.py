"""Automatic resolution through the HTTP API: check, evidence, dispute, the editors' queue."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from claims.clock import stamp
from forecasts.archive.verify import export_lines, verify_database
from forecasts.resolution.autoresolve import RunReport
from tests.claims.evidence_server import EvidenceServer
from tests.claims.payloads import APPSTORE_V2
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from web import scheduler
from web.db import Database
from web.policy import resolution_policy
from web.settings import Settings

SLUG = "sora-top-five"
YES = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"
NO = "length(feed.results[:6] | [?contains(name,'Sora')]) == `0`"
CLOSES = T0 + timedelta(days=10)


@pytest.fixture
def challenge_window() -> float:
    return 3600.0


@pytest.fixture
def poll_every() -> float:
    return 3600.0


@pytest.fixture
def settings(database_url: str, challenge_window: float, poll_every: float) -> Settings:
    return Settings(
        database_url=database_url,
        rate_limit=0,
        fetch_allow="127.0.0.1/32",
        challenge_window=challenge_window,
        poll_every=poll_every,
    )


def rules(server: EvidenceServer, *expressions: str, early: bool = False) -> list[dict[str, Any]]:
    url = server.url("/appstore/v2.json")
    return [
        {"url": url, "format": "json", "expression": e, "yes_early": early} for e in expressions
    ]


def tick(client: TestClient) -> dict[str, object]:
    return scheduler.run_once(client.app.state.ctx)


def rules_run(client: TestClient) -> RunReport:
    """Run every job once; the due-rule job's report."""
    report = tick(client)["run_due_rules"]
    assert isinstance(report, RunReport)
    return report


def claim_with(client: TestClient, tokens: Tokens, rules: list[dict[str, Any]]) -> None:
    """The claim (SLUG), closing and resolving at CLOSES, with these rules."""
    make_claim(client, tokens.editor, slug=SLUG, closes_at=CLOSES, resolves_at=CLOSES, rules=rules)


def early_claim(client: TestClient, tokens: Tokens, server: EvidenceServer) -> None:
    """The claim, with a yes-early rule that says yes."""
    claim_with(client, tokens, rules(server, YES, early=True))


def status(client: TestClient) -> tuple[str, str | None]:
    body = client.get(f"/api/v1/claims/{SLUG}").json()
    return body["status"], body["outcome"]


def test_check_is_a_dry_run_for_editors(
    client: TestClient, tokens: Tokens, server: EvidenceServer
) -> None:
    make_claim(client, tokens.editor, slug=SLUG, rules=rules(server, YES, NO))
    head = client.get("/api/v1/ledger/head").json()
    response = client.post(f"/api/v1/claims/{SLUG}/check", headers=auth(tokens.editor))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["claim"] == SLUG and body["outcome"] == "none"  # before resolves_at
    first, second = body["snapshots"]
    assert (first["decision"], second["decision"]) == ("yes", "no")
    assert first["status"] == 200 and first["content_type"] == "application/json"
    assert len(first["sha256"]) == 64 and first["fetched_at"].endswith("Z")
    assert first["id"] is None and first["error"] is None and first["value"] is True
    assert client.get("/api/v1/ledger/head").json() == head
    assert client.get(f"/api/v1/claims/{SLUG}/evidence").json()["items"] == []
    url = f"/api/v1/claims/{SLUG}/check"
    assert client.post(url, headers=auth(tokens.alice)).status_code == 403
    assert client.post(url).status_code == 401
    missing = client.post("/api/v1/claims/nope/check", headers=auth(tokens.editor))
    assert missing.status_code == 404


def test_proposal_evidence_and_a_dispute_that_goes_to_the_editors(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    claim_with(client, tokens, rules(server, YES))
    dispute_url = f"/api/v1/claims/{SLUG}/dispute"
    assert client.post(dispute_url, headers=auth(tokens.alice)).status_code == 409  # open
    forecast = {"probability": 0.3}
    url = f"/api/v1/claims/{SLUG}/forecasts"
    assert client.post(url, json=forecast, headers=auth(tokens.alice)).status_code == 201
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).proposed == 1
    assert status(client) == ("proposed", None)

    evidence = client.get(f"/api/v1/claims/{SLUG}/evidence").json()
    [snapshot] = evidence["items"]
    assert snapshot["decision"] == "yes" and snapshot["proposal_id"] is not None
    body_url = f"/api/v1/claims/{SLUG}/evidence/{snapshot['id']}/body"
    body = client.get(body_url, headers=auth(tokens.editor))  # 127.0.0.1: editors only
    assert body.status_code == 200 and body.content == APPSTORE_V2
    assert hashlib.sha256(body.content).hexdigest() == snapshot["sha256"]
    assert body.headers["content-type"] == "application/octet-stream"
    assert body.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/api/v1/claims/{SLUG}/evidence/999/body").status_code == 404
    queue = client.get("/api/v1/queue", headers=auth(tokens.editor)).json()["items"]
    assert [(item["kind"], item["claim"], item["outcome"]) for item in queue] == [
        ("proposal", SLUG, "yes")
    ]
    assert client.get("/api/v1/queue", headers=auth(tokens.alice)).status_code == 403

    bad = client.post(dispute_url, json={"note": "a\x00b"}, headers=auth(tokens.alice))
    assert bad.status_code == 422
    stranger = client.post(dispute_url, json={"note": "no"}, headers=auth(tokens.bob))
    assert stranger.status_code == 403 and "forecast on this claim" in stranger.text
    editor = client.post(dispute_url, headers=auth(tokens.editor))  # no forecast either
    assert editor.status_code == 403
    response = client.post(dispute_url, json={"note": "stale chart"}, headers=auth(tokens.alice))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "disputed" and response.json()["outcome"] == "yes"
    assert client.post(dispute_url, headers=auth(tokens.bob)).status_code == 409
    assert client.post(dispute_url, headers=auth(tokens.alice)).status_code == 409  # once
    assert client.post(dispute_url).status_code == 401

    clock.advance(days=3)
    assert tick(client)["finalise_expired"] == 0
    assert status(client) == ("proposed", None)
    queue = client.get("/api/v1/queue", headers=auth(tokens.editor)).json()["items"]
    assert [(item["kind"], item["error"]) for item in queue] == [("dispute", "stale chart")]
    kinds = [e["kind"] for e in client.get("/api/v1/ledger").json()["items"]]
    assert kinds[-2:] == ["resolution_proposed", "resolution_disputed"]


def test_window_passes_and_the_outcome_is_final(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    claim_with(client, tokens, rules(server, NO))
    clock.set(CLOSES)
    tick(client)
    clock.advance(minutes=59)
    assert tick(client)["finalise_expired"] == 0
    clock.advance(minutes=1)
    assert tick(client)["finalise_expired"] == 1
    assert status(client) == ("resolved", "no")


@pytest.mark.parametrize("challenge_window", [0.0])
def test_early_yes_closes_at_once_and_refuses_later_forecasts(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    early_claim(client, tokens, server)
    url = f"/api/v1/claims/{SLUG}/forecasts"
    early = client.post(url, json={"probability": 0.4}, headers=auth(tokens.alice))
    assert early.status_code == 201
    clock.advance(days=1)
    report = rules_run(client)
    assert (report.proposed, report.finalised) == (1, 1)
    assert status(client) == ("resolved", "yes")
    refused = client.post(url, json={"probability": 0.9}, headers=auth(tokens.bob))
    assert refused.status_code == 409
    claim = client.get(f"/api/v1/claims/{SLUG}").json()
    [snapshot] = client.get(f"/api/v1/claims/{SLUG}/evidence").json()["items"]
    assert claim["closed_at"] == snapshot["fetched_at"]


def test_evidence_of_a_draft_is_hidden_from_the_public(
    client: TestClient, tokens: Tokens, server: EvidenceServer
) -> None:
    make_claim(client, tokens.editor, slug=SLUG, status="draft", rules=rules(server, YES))
    url = f"/api/v1/claims/{SLUG}/evidence"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=auth(tokens.alice)).status_code == 404
    assert client.get(url, headers=auth(tokens.editor)).json() == {"items": [], "next_cursor": None}
    assert client.get("/api/v1/claims/nope/evidence").status_code == 404


def test_evidence_pages(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    claim_with(client, tokens, rules(server, "feed.results[0].name"))
    clock.set(CLOSES)
    for _ in range(3):
        tick(client)
        clock.advance(days=1)
    first = client.get(f"/api/v1/claims/{SLUG}/evidence?limit=2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"/api/v1/claims/{SLUG}/evidence?limit=2&cursor={first['next_cursor']}")
    ids = [s["id"] for s in first["items"] + rest.json()["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    queue = client.get("/api/v1/queue", headers=auth(tokens.editor)).json()["items"]
    assert [(item["kind"], item["failures"]) for item in queue] == [("failing", 3)]


def test_an_editor_fixing_a_failing_rule_makes_the_claim_due_at_once(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    broken = [{**rules(server, YES)[0], "url": server.url("/error/503")}]
    make_claim(client, tokens.editor, slug=SLUG, closes_at=CLOSES, resolves_at=CLOSES, rules=broken)
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).failed == 1
    clock.advance(minutes=1)
    assert rules_run(client).checked == 0  # backing off
    fixed = client.patch(
        f"/api/v1/claims/{SLUG}", json={"rules": rules(server, YES)}, headers=auth(tokens.editor)
    )
    assert fixed.status_code == 200, fixed.text
    assert rules_run(client).proposed == 1
    assert status(client) == ("proposed", None)


def _reopen(client: TestClient, token: str | None, slug: str = SLUG, **body: Any) -> Any:
    headers = auth(token) if token else {}
    return client.post(f"/api/v1/claims/{slug}/reopen", json=body or None, headers=headers)


def _entries(client: TestClient, kind: str) -> list[dict[str, Any]]:
    items = client.get("/api/v1/ledger", params={"limit": 500}).json()["items"]
    return [item for item in items if item["kind"] == kind]


def test_an_editor_rejecting_an_early_yes_reopens_the_claim(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock, db: Database
) -> None:
    early_claim(client, tokens, server)
    url = f"/api/v1/claims/{SLUG}/forecasts"
    first = client.post(url, json={"probability": 0.4}, headers=auth(tokens.alice))
    assert first.status_code == 201
    clock.advance(days=1)
    assert rules_run(client).proposed == 1
    assert status(client) == ("proposed", None)
    assert client.post(url, json={"probability": 0.9}, headers=auth(tokens.bob)).status_code == 409
    [first_close] = _entries(client, "claim_closed")

    assert _reopen(client, None).status_code == 401
    assert _reopen(client, tokens.alice).status_code == 403
    assert _reopen(client, tokens.editor, slug="nope").status_code == 404
    for body in ({"note": "bad\x00byte"}, {"note": "x", "extra": 1}):
        assert _reopen(client, tokens.editor, **body).status_code == 422, body
    assert status(client) == ("proposed", None)  # refusals change nothing

    clock.advance(minutes=5)
    reopened = _reopen(client, tokens.editor, note="the chart was cached")
    assert reopened.status_code == 200, reopened.text
    view = reopened.json()
    assert (view["status"], view["closed_at"], view["closes_at"]) == ("open", None, stamp(CLOSES))
    [entry] = _entries(client, "claim_reopened")
    assert entry["payload"]["note"] == "the chart was cached" and entry["payload"]["by"] == "eddie"
    assert _reopen(client, tokens.editor).status_code == 409  # nothing proposed any more
    queue = client.get("/api/v1/queue", headers=auth(tokens.editor)).json()["items"]
    assert not [item for item in queue if item["claim"] == SLUG]

    # forecasts are taken again and hidden again, until the scheduled close
    late = client.post(url, json={"probability": 0.7}, headers=auth(tokens.bob))
    assert late.status_code == 201, late.text
    mine = client.get(url, headers=auth(tokens.alice)).json()["items"]
    assert [row["handle"] for row in mine] == ["alice"]
    # the rules still say yes, but do not close the claim again until an editor edits it
    clock.advance(hours=2)
    report = rules_run(client)
    assert (report.checked, report.proposed) == (1, 0)
    assert status(client) == ("open", None)
    clock.advance(minutes=1)
    edited = client.patch(
        f"/api/v1/claims/{SLUG}", json={"description": "Checked."}, headers=auth(tokens.editor)
    )
    assert edited.status_code == 200, edited.text
    clock.advance(minutes=1)
    assert rules_run(client).proposed == 1
    clock.advance(hours=1)
    assert tick(client)["finalise_expired"] == 1
    assert status(client) == ("resolved", "yes")

    # the second close reveals only what the first could not
    closes = _entries(client, "claim_closed")
    assert closes[0] == first_close and len(closes) == 2
    revealed = [[r["seq"] for r in c["payload"]["reveals"]] for c in closes]
    assert revealed == [[mine[0]["ledger_seq"]], [late.json()["ledger_seq"]]]
    scored = client.get(f"/api/v1/claims/{SLUG}/scores").json()["items"]
    assert [row["handle"] for row in scored] == ["alice", "bob", "@crowd"]
    with db.reading() as session:
        assert not verify_database(session).problems
        public = [line for line in export_lines(session, private=False) if "reveal" in line]
    assert {line["seq"] for line in public} == {mine[0]["ledger_seq"], late.json()["ledger_seq"]}


def test_only_an_early_proposal_before_the_close_reopens(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    early_claim(client, tokens, server)
    assert _reopen(client, tokens.editor).status_code == 409  # open: nothing proposed
    clock.set(CLOSES - timedelta(minutes=30))
    assert rules_run(client).proposed == 1
    clock.set(CLOSES + timedelta(minutes=1))  # still in its window, but the close has passed
    refused = _reopen(client, tokens.editor)
    assert refused.status_code == 409 and "resolve it by hand" in refused.json()["detail"]
    make_claim(
        client,
        tokens.editor,
        slug="late",
        closes_at=CLOSES + timedelta(days=1),
        resolves_at=CLOSES + timedelta(days=1),
        rules=rules(server, YES),
    )
    clock.set(CLOSES + timedelta(days=1, minutes=1))
    assert rules_run(client).proposed == 1  # decided at resolves_at: not early
    refused = _reopen(client, tokens.editor, slug="late")
    assert refused.status_code == 409 and "early" in refused.json()["detail"]


@pytest.mark.parametrize("poll_every", [600.0])
def test_rules_poll_at_the_configured_pace(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    undecided = "feed.results[0].name"  # a string: no decision
    claim_with(client, tokens, rules(server, undecided))
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).checked == 1
    clock.advance(minutes=9)
    assert rules_run(client).checked == 0
    clock.advance(minutes=1)
    assert rules_run(client).checked == 1


def test_the_resolution_settings_reach_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("POLL_EVERY", "600"),
        ("MAX_BACKOFF", "300"),  # below the polling pace: waits never get shorter than it
        ("FETCH_TIMEOUT", "2.5"),
        ("FETCH_CONCURRENCY", "4"),
    ):
        monkeypatch.setenv(f"FORECAST_LEDGER_{name}", value)
    policy = resolution_policy(Settings())
    assert policy.poll_every == policy.max_backoff == timedelta(minutes=10)
    assert (policy.fetch.timeout, policy.concurrency) == (2.5, 4)
    assert policy.backoff(3) == timedelta(minutes=10)
    for name, bad in (("FETCH_CONCURRENCY", "0"), ("POLL_EVERY", "-1"), ("FETCH_TIMEOUT", "x")):
        monkeypatch.setenv(f"FORECAST_LEDGER_{name}", bad)
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.undo()
