"""Backup and restore: a `--private` export rebuilds the record in an empty database."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from claims.clock import stamp
from claims.errors import Conflict, Invalid
from claims.lifecycle import get_claim
from claims.models import Claim, Proposal
from forecasts.accounts.service import get_account
from forecasts.archive.restore import restore_ledger
from forecasts.archive.verify import export_lines, verify_database
from forecasts.ledger.models import Account
from forecasts.resolution.autoresolve import run_due_rules
from forecasts.resolution.proposals import dispute_proposal, finalise_proposal, reopen_claim
from forecasts.resolution.settle import settle_claim
from tests.claims.evidence_server import EvidenceServer
from tests.conftest import Tokens, fresh_database
from tests.e2e.conftest import run_command
from tests.factories import T0, FakeClock, auth, make_claim, make_claimant, make_free_text_claim
from tests.forecasts.resolution.test_autoresolve import CLOSES, POLICY, YES, after_resolves_at, rule
from web.db import Database

API = "/api/v1"


def _post(client: TestClient, token: str, path: str, body: Any = None) -> Any:
    response = client.post(f"{API}{path}", json=body, headers=auth(token))
    assert response.status_code in (200, 201), response.text
    return response.json()


def _patch(client: TestClient, token: str, path: str, body: Any) -> Any:
    response = client.patch(f"{API}{path}", json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def _populate(client: TestClient, clock: FakeClock, tokens: Tokens, db: Database) -> None:
    """Claims in every state the ledger knows, through the API."""
    days = timedelta(days=1)
    make_free_text_claim(db, slug="from-before", claimant="Old Pundit", closes_at=T0 + days)
    make_claimant(client, tokens.editor, slug="pundit", name="Old Pundit")
    amended = {"description": "Pundit since 1999.", "url": "https://pundit.example/"}
    _patch(client, tokens.editor, "/claimants/pundit", amended)
    for slug in ("stays-open", "resolved-then-re-resolved", "annulled-one", "closed-early"):
        make_claim(client, tokens.editor, slug=slug, opens_at=T0, closes_at=T0 + 10 * days)
    cited = {"claimant": "pundit", "stance": "denies", "stated_probability": 0.2}
    _patch(client, tokens.editor, "/claims/resolved-then-re-resolved", {"source": cited})
    make_claim(
        client,
        tokens.editor,
        slug="history",
        opens_at=T0 - 30 * days,
        closes_at=T0 - days,
        rules=[{"url": "https://example.org/x.json", "format": "json", "expression": "done"}],
        source={"url": "https://example.org/essay", "claimant": "pundit", "stance": "asserts"},
    )
    draft = {"status": "draft"}
    make_claim(client, tokens.editor, slug="a-draft", closes_at=T0 + 10 * days, **draft)
    clock.set(T0 + days)
    for slug in ("stays-open", "resolved-then-re-resolved", "annulled-one", "closed-early"):
        for token, p in ((tokens.alice, 0.3), (tokens.bob, 0.8)):
            body = {"probability": p, "rationale": f"because {slug}"}
            _post(client, token, f"/claims/{slug}/forecasts", body)
    clock.advance(hours=5)
    _post(client, tokens.alice, "/claims/stays-open/withdraw")
    _post(client, tokens.bob, "/claims/resolved-then-re-resolved/forecasts", {"odds": "1:3"})
    _post(client, tokens.alice, "/claims/closed-early/withdraw")
    _post(client, tokens.alice, "/claims/closed-early/forecasts", {"probability": 0.55})
    patch = {"resolution_criteria": "Yes if it is so, by the amended reading.", "rules": []}
    amended = client.patch(f"{API}/claims/stays-open", json=patch, headers=auth(tokens.editor))
    assert amended.status_code == 200, amended.text
    shorter = {"closes_at": stamp(T0 + 9 * days)}
    window = client.patch(f"{API}/claims/stays-open", json=shorter, headers=auth(tokens.editor))
    assert window.status_code == 200, window.text
    retitled = {"title": "Stays open, retitled", "tags": ["retitled"], "fine_print": "Small."}
    edit = client.patch(f"{API}/claims/stays-open", json=retitled, headers=auth(tokens.editor))
    assert edit.status_code == 200, edit.text
    imported = [
        {
            "claim": "history",
            "handle": "alice",
            "probability": 0.2,
            "created_at": "2025-12-10T00:00:00Z",
        },
        {
            "claim": "history",
            "handle": "bob",
            "probability": 0.7,
            "created_at": "2025-12-20T00:00:00Z",
        },
    ]
    _post(client, tokens.admin, "/import/forecasts", imported)
    _post(client, tokens.editor, "/claims/history/resolution", {"outcome": "no"})
    linked = {"claimant": "pundit", "stance": "asserts", "url": "https://example.org/old"}
    _patch(client, tokens.editor, "/claims/from-before", {"source": linked})  # after its close
    clock.advance(days=1)
    early = {"outcome": "yes", "closed_at": stamp(T0 + days + timedelta(hours=6))}
    _post(client, tokens.editor, "/claims/closed-early/resolution", early)
    clock.set(T0 + 11 * days)
    _post(client, tokens.editor, "/claims/resolved-then-re-resolved/resolution", {"outcome": "yes"})
    _post(client, tokens.editor, "/claims/annulled-one/resolution", {"outcome": "annulled"})
    clock.advance(hours=1)
    again = {"outcome": "no", "note": "misread the chart"}
    _post(client, tokens.editor, "/claims/resolved-then-re-resolved/resolution", again)


def _snapshot(db: Database) -> dict[str, Any]:
    """Everything the record and its derived data say, by names rather than ids."""
    queries = {
        "claims": "SELECT slug, title, description, resolution_criteria, fine_print, rules, "
        "source, state, opens_at, closes_at, resolves_at, closed_early_at, close_recorded_seq, "
        "outcome, version, published_seq, claimant FROM claims WHERE state != 'draft' "
        "ORDER BY slug",
        "claimants": "SELECT slug, name, kind, url, description, created_at, updated_at, "
        "added_seq FROM claimants ORDER BY slug",
        "records": "SELECT c.slug, r.claims_resolved, r.hit_rate, r.mean_consensus, r.yield_, "
        "r.brier FROM claimant_records r JOIN claimants c ON c.id = r.claimant_id ORDER BY 1",
        "consensus": "SELECT c.slug, k.consensus FROM claim_consensus k JOIN claims c ON "
        "c.id = k.claim_id ORDER BY 1",
        "tags": "SELECT c.slug, t.tag FROM claim_tags t JOIN claims c ON c.id = t.claim_id "
        "WHERE c.state != 'draft' ORDER BY 1, 2",
        "versions": "SELECT c.slug, v.version, v.resolution_criteria, v.rules FROM claim_versions "
        "v JOIN claims c ON c.id = v.claim_id ORDER BY 1, 2",
        "forecasts": "SELECT f.id, c.slug, a.handle, f.probability, f.rationale, f.created_at, "
        "f.ledger_seq, f.imported, s.salt FROM forecasts f JOIN claims c ON c.id = f.claim_id "
        "JOIN accounts a ON a.id = f.account_id "
        "LEFT JOIN commitment_salts s ON s.ledger_seq = f.ledger_seq ORDER BY f.id",
        "standings": "SELECT c.slug, a.handle, s.forecast_id, s.probability, s.at, s.ledger_seq "
        "FROM standings s JOIN claims c ON c.id = s.claim_id JOIN accounts a ON "
        "a.id = s.account_id ORDER BY 1, 2",
        "stats": "SELECT c.slug, s.market, s.forecasters FROM claim_stats s JOIN claims c ON "
        "c.id = s.claim_id ORDER BY 1",
        "scores": "SELECT c.slug, s.handle, s.brier, s.time_averaged_brier, s.coverage, "
        "s.log_score, s.baseline_score, s.peer_score, s.market_points, s.probability_at_close, "
        "s.outcome FROM scores s JOIN claims c ON c.id = s.claim_id ORDER BY 1, 2",
        "totals": "SELECT handle, claims_scored, brier_sum, mean_brier, peer_sum, "
        "coverage_sum, baseline_total, market_points_sum FROM forecaster_totals ORDER BY 1",
        "head": "SELECT seq, hash FROM ledger_head",
    }
    with db.read_engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in queries.items()
        }


def _comparable(value: Any) -> Any:
    """Floats to 9 places (sums over the same scores may add up in another order) and JSON
    columns parsed (the ledger keeps their keys sorted)."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


def _rounded(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        name: [tuple(_comparable(v) for v in row) for row in rows]
        for name, rows in snapshot.items()
    }


def _empty_dir(tmp_path: Path) -> Path:
    """A folder of its own for the second database (the first one lives in tmp_path)."""
    folder = tmp_path / "restored"
    folder.mkdir()
    return folder


def _export(db: Database) -> list[dict[str, Any]]:
    with db.reading() as session:
        return [json.loads(json.dumps(line)) for line in export_lines(session, private=True)]


@pytest.fixture
def populated(client: TestClient, clock: FakeClock, tokens: Tokens, db: Database) -> Database:
    _populate(client, clock, tokens, db)
    return db


def test_a_private_export_restores_the_same_record(
    populated: Database, tmp_path: Path, migrated_template: str
) -> None:
    exported = _export(populated)
    kinds = {line["kind"] for line in exported}
    assert kinds >= {
        "claim_published",
        "criteria_amended",
        "window_amended",
        "claim_text_amended",
        "forecast_submitted",
        "forecast_withdrawn",
        "forecast_imported",
        "claim_closed",
        "resolution_finalised",
        "re_resolved",
        "annulled",
        "claimant_added",
        "claimant_amended",
        "source_amended",
    }
    before = _snapshot(populated)
    with fresh_database(_empty_dir(tmp_path), migrated_template) as url:
        fresh = Database(url)
        try:
            with fresh.writing() as session:
                report = restore_ledger(session, exported, now=T0 + timedelta(days=20))
            assert report.head == before["head"][0][1] and report.entries == len(exported)
            after = _snapshot(fresh)
            with fresh.read_engine.connect() as conn:  # restore reports nothing (SPEC §9)
                assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
            for name, rows in _rounded(before).items():
                for old, new in zip(rows, _rounded(after)[name], strict=True):
                    assert new == old, name
            with fresh.reading() as session:
                assert not verify_database(session).problems
            assert _export(fresh) == exported
            with fresh.writing() as session, pytest.raises(Conflict):
                restore_ledger(session, exported, now=T0)  # not into a database with a record
        finally:
            fresh.dispose()


def test_restore_refuses_public_and_tampered_exports(
    populated: Database, tmp_path: Path, migrated_template: str
) -> None:
    with populated.reading() as session:
        public = [json.loads(json.dumps(line)) for line in export_lines(session, private=False)]
    tampered = _export(populated)
    tampered[3]["created_at"] = "2026-01-01T00:00:00.000000Z"
    with fresh_database(_empty_dir(tmp_path), migrated_template) as url:
        fresh = Database(url)
        try:
            for lines, reason in ((public, "--private"), (tampered, "does not verify")):
                with fresh.writing() as session, pytest.raises(Invalid) as error:
                    restore_ledger(session, lines, now=T0)
                assert reason in str(error.value.detail)
            with fresh.reading() as session:  # nothing was written
                assert (
                    session.connection().execute(text("SELECT count(*) FROM claims")).scalar() == 0
                )
        finally:
            fresh.dispose()


@pytest.mark.slow
def test_restore_command(populated: Database, tmp_path: Path, migrated_template: str) -> None:
    """`forecast-ledger export --private` then `restore --file` into an empty database."""
    backup = tmp_path / "backup.jsonl"
    exported = run_command("export", "--private", "--file", str(backup), database_url=populated.url)
    assert exported.returncode == 0
    head = _snapshot(populated)["head"][0][1]
    with fresh_database(_empty_dir(tmp_path), migrated_template) as url:
        restored = run_command("restore", "--file", str(backup), database_url=url)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"head {head}" in restored.stdout
        # the database is no longer empty
        again = run_command("restore", "--file", str(backup), database_url=url)
        assert again.returncode == 1 and "empty database" in again.stdout
        fresh = Database(url)
        try:
            with fresh.reading() as session:
                assert not verify_database(session, expect_head=head).problems
        finally:
            fresh.dispose()


def test_proposals_disputes_and_automatic_settlements_are_restored(
    client: TestClient,
    clock: FakeClock,
    tokens: Tokens,
    db: Database,
    server: EvidenceServer,
    tmp_path: Path,
    migrated_template: str,
) -> None:
    for slug in ("disputed-then-settled", "finalised-by-the-job", "still-proposed"):
        make_claim(
            client,
            tokens.editor,
            slug=slug,
            opens_at=T0,
            closes_at=CLOSES,
            rules=[rule(server, YES)],
        )
    clock.advance(days=1)
    for slug in ("disputed-then-settled", "finalised-by-the-job", "still-proposed"):
        _post(client, tokens.alice, f"/claims/{slug}/forecasts", {"probability": 0.9})
        _post(client, tokens.bob, f"/claims/{slug}/forecasts", {"probability": 0.2})
    later = after_resolves_at()
    assert run_due_rules(db.write_engine, later, POLICY).proposed == 3
    with db.writing() as session:
        bob = get_account(session, "bob").id
        assert bob is not None
        dispute_proposal(
            session, "disputed-then-settled", account_id=bob, handle="bob", note="no", now=later()
        )
        claim = get_claim(session, "disputed-then-settled")
        settle_claim(session, claim, "no", now=later(), by="eddie", note="the chart was wrong")
    later.advance(days=2)
    with db.writing() as session:
        proposal = session.exec(
            select(Proposal).join(Claim).where(Claim.slug == "finalised-by-the-job")
        ).one()
        assert proposal.id is not None
        assert finalise_proposal(session, proposal.id, now=later())
    exported = _export(db)
    assert {"resolution_proposed", "resolution_disputed"} <= {line["kind"] for line in exported}
    before = _snapshot(db)
    _assert_restores(db, exported, before, tmp_path, migrated_template, now=later())


_PROPOSALS = (
    "SELECT c.slug, p.outcome, p.state, p.proposed_at, p.closes_early, p.tc, "
    "p.challenge_ends_at, p.ledger_seq, p.decided_at, p.note FROM proposals p "
    "JOIN claims c ON c.id = p.claim_id ORDER BY p.ledger_seq"
)


def _assert_restores(
    db: Database,
    exported: list[dict[str, Any]],
    before: dict[str, Any],
    tmp_path: Path,
    template: str,
    *,
    now: datetime,
) -> None:
    """Restoring `exported` into an empty database gives `before` and the same proposals."""
    with db.read_engine.connect() as conn:
        before_proposals = [tuple(row) for row in conn.execute(text(_PROPOSALS))]
    with fresh_database(_empty_dir(tmp_path), template) as url:
        fresh = Database(url)
        try:
            with fresh.writing() as session:
                restore_ledger(session, exported, now=now)
            assert _rounded(_snapshot(fresh)) == _rounded(before)
            with fresh.read_engine.connect() as conn:
                assert [tuple(row) for row in conn.execute(text(_PROPOSALS))] == before_proposals
            with fresh.reading() as session:
                assert not verify_database(session).problems
            assert _export(fresh) == exported
        finally:
            fresh.dispose()


def test_a_reopened_claim_is_restored(
    client: TestClient,
    clock: FakeClock,
    tokens: Tokens,
    db: Database,
    server: EvidenceServer,
    tmp_path: Path,
    migrated_template: str,
) -> None:
    make_claim(
        client,
        tokens.editor,
        slug="reopened",
        opens_at=T0,
        closes_at=CLOSES,
        rules=[rule(server, YES, yes_early=True)],
    )
    clock.advance(days=1)
    _post(client, tokens.alice, "/claims/reopened/forecasts", {"probability": 0.9})
    clock.advance(days=1)
    assert run_due_rules(db.write_engine, clock, POLICY).proposed == 1
    clock.advance(hours=1)
    with db.writing() as session:
        editor = session.exec(select(Account).where(Account.handle == "eddie")).one()
        assert editor.id is not None
        reopen_claim(session, "reopened", by="eddie", by_id=editor.id, note="stale", now=clock())
    clock.advance(hours=1)
    _post(client, tokens.bob, "/claims/reopened/forecasts", {"probability": 0.3})
    exported = _export(db)
    assert [line["kind"] for line in exported].count("claim_reopened") == 1
    before = _snapshot(db)
    [claim] = [row for row in before["claims"] if row[0] == "reopened"]
    assert (claim[7], claim[11], claim[12]) == ("published", None, None)  # open again
    _assert_restores(db, exported, before, tmp_path, migrated_template, now=clock())
