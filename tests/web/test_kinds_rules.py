"""Rules of claims that are numbers, dates or choices (SPEC §7), against the evidence server:
values proposed, agreement as values, closed bounds, disputes, re-resolution, the dry run."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from claims.models import Proposal
from forecasts.archive.restore import restore_ledger
from forecasts.archive.verify import export_lines, verify_database
from tests.claims.evidence_server import EvidenceServer
from tests.conftest import Tokens, fresh_database
from tests.factories import FakeClock, auth
from tests.web.kinds import forecast_body, make_kind_claim, post_forecast, unix
from tests.web.test_resolution_api import (  # noqa: F401 (fixtures the client uses)
    CLOSES,
    challenge_window,
    poll_every,
    rules,
    rules_run,
    settings,
    tick,
)
from web.db import Database

LABELS = ["ChatGPT", "Google Gemini", "Another product"]


def _claim(
    client: TestClient, tokens: Tokens, server: EvidenceServer, kind: str, *exprs: str, **extra: Any
) -> str:
    claim = make_kind_claim(
        client,
        tokens.editor,
        kind,
        closes_at=CLOSES,
        resolves_at=CLOSES,
        rules=rules(server, *exprs),
        **extra,
    )
    slug: str = claim["slug"]
    return slug


def _read(client: TestClient, slug: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/claims/{slug}").json()
    return body


def test_a_label_is_proposed_disputed_and_resolved_by_hand(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    slug = _claim(client, tokens, server, "multiple_choice", "feed.results[0].name", options=LABELS)
    body = {"probabilities": {"ChatGPT": 0.6, "Google Gemini": 0.3, "Another product": 0.1}}
    assert post_forecast(client, tokens.alice, slug, body).status_code == 201
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).proposed == 1
    assert _read(client, slug)["status"] == "proposed"
    evidence = client.get(f"/api/v1/claims/{slug}/evidence", headers=auth(tokens.editor))
    [snapshot] = evidence.json()["items"]
    assert snapshot["decision"] == "ChatGPT" and snapshot["value"] == "ChatGPT"
    disputed = client.post(f"/api/v1/claims/{slug}/dispute", headers=auth(tokens.alice))
    assert disputed.status_code == 200 and disputed.json()["outcome"] == "ChatGPT"
    url = f"/api/v1/claims/{slug}/resolution"
    resolved = client.post(url, json={"outcome": "Google Gemini"}, headers=auth(tokens.editor))
    assert resolved.json()["status"] == "resolved" and resolved.json()["outcome"] == "Google Gemini"
    clock.advance(hours=1)
    again = client.post(url, json={"outcome": "annulled"}, headers=auth(tokens.editor))
    assert again.json()["status"] == "annulled" and again.json()["outcome"] is None
    kinds = [(e["kind"], (e["payload"] or {}).get("outcome")) for e in _ledger(client)]
    assert ("resolution_proposed", "ChatGPT") in kinds
    assert kinds[-2:] == [("resolution_finalised", "Google Gemini"), ("annulled", "annulled")]


def _ledger(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/ledger?limit=500").json()["items"]
    return items


def test_numbers_agree_as_doubles_and_the_window_finalises(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    slug = _claim(client, tokens, server, "numeric", "`2100000`", "`2100000.0`")
    assert post_forecast(client, tokens.alice, slug, forecast_body("numeric")).status_code == 201
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).proposed == 1
    proposed = [e for e in _ledger(client) if e["kind"] == "resolution_proposed"]
    assert proposed[0]["payload"]["outcome"] == 2_100_000
    assert [item["decision"] for item in proposed[0]["payload"]["evidence"]] == [2.1e6, 2.1e6]
    clock.advance(hours=2)
    assert tick(client)["finalise_expired"] == 1
    claim = _read(client, slug)
    assert (claim["status"], claim["outcome"]) == ("resolved", 2_100_000)


def test_numbers_that_differ_conflict(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    slug = _claim(client, tokens, server, "numeric", "`2100000`", "`2200000`")
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).proposed == 0
    queue = client.get("/api/v1/queue", headers=auth(tokens.editor)).json()["items"]
    assert [(item["claim"], item["kind"]) for item in queue] == [(slug, "conflict")]


def test_times_agree_as_instants_and_a_closed_bound_decides_nothing(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    seconds = int(unix("2027-03-01T00:00:00Z"))
    iso = '`"2027-03-01T01:00:00+01:00"`'
    slug = _claim(client, tokens, server, "date", iso, f"`{seconds}`")
    beyond = _claim(
        client, tokens, server, "date", '`"2029-01-01T00:00:00Z"`', slug="beyond-the-bound"
    )
    clock.set(CLOSES + timedelta(minutes=1))
    check = client.post(f"/api/v1/claims/{slug}/check", headers=auth(tokens.editor)).json()
    assert check["value"] == "2027-03-01T00:00:00.000000Z"
    assert [s["extracted"] for s in check["snapshots"]] == [check["value"]] * 2
    refused = client.post(f"/api/v1/claims/{beyond}/check", headers=auth(tokens.editor)).json()
    assert refused["outcome"] == "none" and refused["snapshots"][0]["extracted"] is None
    assert rules_run(client).proposed == 1
    assert _read(client, slug)["status"] == "proposed"
    assert _read(client, beyond)["status"] == "closed"


def test_a_rule_resolved_claim_of_each_kind_restores_and_verifies(
    client: TestClient,
    tokens: Tokens,
    server: EvidenceServer,
    clock: FakeClock,
    db: Database,
    tmp_path: Path,
    migrated_template: str,
) -> None:
    numeric = _claim(client, tokens, server, "numeric", "`2100000`")
    choice = _claim(
        client, tokens, server, "multiple_choice", "feed.results[1].name", options=LABELS
    )
    mine = {"probabilities": {"ChatGPT": 0.5, "Google Gemini": 0.4, "Another product": 0.1}}
    for slug, body in ((numeric, forecast_body("numeric")), (choice, mine)):
        assert post_forecast(client, tokens.alice, slug, body).status_code == 201
    clock.set(CLOSES + timedelta(minutes=1))
    assert rules_run(client).proposed == 2
    assert client.post(f"/api/v1/claims/{choice}/dispute", headers=auth(tokens.alice)).is_success
    clock.advance(hours=2)
    assert tick(client)["finalise_expired"] == 1  # the disputed one waits for the editors
    with db.reading() as session:
        assert not verify_database(session).problems
        exported = [json.loads(json.dumps(x)) for x in export_lines(session, private=True)]
    folder = tmp_path / "restored"
    folder.mkdir()
    with fresh_database(folder, migrated_template) as url:
        fresh = Database(url)
        try:
            with fresh.writing() as session:
                restore_ledger(session, exported, now=CLOSES + timedelta(days=1))
            with fresh.reading() as session:
                assert not verify_database(session).problems
                proposals = session.exec(select(Proposal)).all()
                shown = {(p.outcome, p.outcome_value, p.state) for p in proposals}
            # (the two claims' rules run concurrently: either may be proposed first)
            assert shown == {
                ("value", 2_100_000.0, "finalised"),
                ("Google Gemini", None, "disputed"),
            }
        finally:
            fresh.dispose()


def test_seconds_that_name_no_time_decide_nothing(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    """1e15 Unix seconds lie after year 9999: on an open bound it was proposed, and showing
    it was a 500 (the dry run, the claim, the job's own event)."""
    slug = _claim(client, tokens, server, "date", "`1000000000000000`", open_upper_bound=True)
    clock.set(CLOSES + timedelta(minutes=1))
    check = client.post(f"/api/v1/claims/{slug}/check", headers=auth(tokens.editor))
    assert check.status_code == 200, check.text
    assert check.json()["outcome"] == "none"
    assert check.json()["snapshots"][0]["extracted"] is None
    assert rules_run(client).proposed == 0
    assert _read(client, slug)["status"] == "closed"
