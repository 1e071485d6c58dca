"""`verify` covers what scores derive from: claims rows, scores, rationales, evidence, text."""

import hashlib
import json
import subprocess
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasts.archive.verify import Report, export_lines, verify_database, verify_export
from forecasts.ledger.chain import commitment_body, commitment_hash, flush, lock_head, new_salt
from forecasts.ledger.tables import forecasts_t, salts_t
from forecasts.scores.rescore import rescore_all
from tests.claims.evidence_server import EvidenceServer
from tests.conftest import Tokens
from tests.e2e.conftest import run_command
from tests.factories import T0, FakeClock, auth, make_claim, rewrite_behind_the_app
from tests.forecasts.resolution.test_autoresolve import (
    AT_ONCE,
    YES,
    after_resolves_at,
    claim_with,
    rule,
)
from web.db import Database

SLUG = "gen-video-out-of-top-five"
API = f"/api/v1/claims/{SLUG}"


def _resolve(client: TestClient, tokens: Tokens, clock: FakeClock) -> None:
    """A claim with two forecasts (one with a rationale), closed and resolved yes."""
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=1))
    for token, body in (
        (tokens.alice, {"probability": 0.7, "rationale": "r"}),
        (tokens.bob, {"probability": 0.2}),
    ):
        assert client.post(f"{API}/forecasts", json=body, headers=auth(token)).status_code == 201
    clock.set(T0 + timedelta(days=2))
    done = client.post(f"{API}/resolution", json={"outcome": "yes"}, headers=auth(tokens.editor))
    assert done.status_code in (200, 201), done.text


def _verify(db: Database) -> Report:
    with db.reading() as session:
        return verify_database(session)


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_command(*args, database_url=database_url)


def test_an_intact_record_checks_claims_scores_and_evidence(
    client: TestClient, tokens: Tokens, clock: FakeClock, db: Database
) -> None:
    _resolve(client, tokens, clock)
    report = _verify(db)
    assert report.problems == []
    assert "1 claims replayed from the ledger" in report.notes
    assert "scores of 1 resolved claims recomputed" in report.notes


@pytest.mark.parametrize(
    ("table", "statement", "named"),
    [
        ("claims", "UPDATE claims SET outcome = 'no'", "outcome is 'no' in the database"),
        ("claims", "UPDATE claims SET resolution_criteria = 'Yes if.'", "resolution_criteria"),
        ("claims", "UPDATE claims SET closes_at = opens_at", "closes_at"),
        ("claims", "UPDATE claims SET title = 'Another title'", "title is 'Another title'"),
        (
            "forecasts",
            "UPDATE forecasts SET rationale = 'later' WHERE rationale = 'r'",
            "commitment",
        ),
        (
            "scores",
            "UPDATE scores SET brier = brier + 0.01 WHERE handle = 'alice'",
            "score of alice",
        ),
        ("scores", "DELETE FROM scores WHERE handle = 'bob'", "no score row of bob"),
    ],
)
def test_an_edit_behind_the_apps_back_is_named(
    client: TestClient,
    tokens: Tokens,
    clock: FakeClock,
    db: Database,
    database_url: str,
    table: str,
    statement: str,
    named: str,
) -> None:
    _resolve(client, tokens, clock)
    rewrite_behind_the_app(database_url, table, statement)
    report = _verify(db)
    assert report.problems and named in report.problems[0].reason, report.problems
    # scores are recomputed only from forecasts that match the ledger, and it says so
    skipped = "scores not recomputed: the stored forecasts do not match the ledger (see above)"
    assert (skipped in report.notes) == (table == "forecasts")


def test_a_flipped_outcome_then_rescore_fails_verify_on_the_command_line(
    client: TestClient, tokens: Tokens, clock: FakeClock, db: Database, database_url: str
) -> None:
    """The issue's case: scores rebuilt from a forged outcome all agree with the row."""
    _resolve(client, tokens, clock)
    assert _cli(database_url, "verify").returncode == 0
    rewrite_behind_the_app(database_url, "claims", "UPDATE claims SET outcome = 'no'")
    with db.writing() as session:
        rescore_all(session, now=clock())
    result = _cli(database_url, "verify")
    assert result.returncode == 1
    assert (
        f"claim '{SLUG}': outcome is 'no' in the database, the ledger says 'yes'" in result.stdout
    )
    assert "score of alice" in result.stderr  # the rebuilt scores do not match the ledger's


def test_a_changed_evidence_body_is_named(
    db: Database, server: EvidenceServer, database_url: str
) -> None:
    claim_with(db, rule(server, YES))
    assert _verify_resolved(db).problems == []
    with db.write_engine.begin() as conn:
        forged = zlib.compress(b'{"feed": {"results": []}}')
        conn.execute(text("UPDATE evidence_snapshots SET body = :b"), {"b": forged})
    problems = _verify(db).problems
    assert problems and "evidence snapshot" in problems[0].reason
    assert "does not match its sha256" in problems[0].reason


def test_a_snapshot_hash_not_named_by_its_proposal_is_named(
    db: Database, server: EvidenceServer
) -> None:
    claim_with(db, rule(server, YES))
    _verify_resolved(db)
    body = b"anything"
    with db.write_engine.begin() as conn:
        conn.execute(
            text("UPDATE evidence_snapshots SET body = :b, sha256 = :h, body_size = :n"),
            {"b": zlib.compress(body), "h": hashlib.sha256(body).hexdigest(), "n": len(body)},
        )
    problems = _verify(db).problems
    assert problems and "not the one the proposal names" in problems[0].reason


def _verify_resolved(db: Database) -> Report:
    from forecasts.resolution.autoresolve import run_due_rules

    assert run_due_rules(db.write_engine, after_resolves_at(), AT_ONCE).finalised == 1
    return _verify(db)


def test_a_version_1_commitment_still_verifies(
    client: TestClient, tokens: Tokens, db: Database, database_url: str
) -> None:
    """An entry written before rationales were committed to: its body has no rationale."""
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=1))
    salt, at = new_salt(), T0 + timedelta(seconds=1)
    with db.write_engine.begin() as conn:
        claim_id = conn.execute(text("SELECT id FROM claims")).scalar_one()
        alice = conn.execute(text("SELECT id FROM accounts WHERE handle = 'alice'")).scalar_one()
        body = commitment_body(SLUG, "alice", 0.4, at, version=1)
        chain = lock_head(conn)
        row = chain.add(
            "forecast_submitted", at, commitment_hash(body, salt), payload=None, claim_id=claim_id
        )
        flush(conn, chain)
        seq = row["seq"]
        forecast = {"id": seq, "claim_id": claim_id, "account_id": alice, "probability": 0.4}
        forecast |= {"rationale": "old, not committed", "created_at": at, "ledger_seq": seq}
        conn.execute(forecasts_t.insert().values(**forecast, imported=False))
        conn.execute(salts_t.insert().values(ledger_seq=seq, salt=salt))
    report = _verify(db)
    assert report.problems == [] and report.commitments == 1
    with db.reading() as session:
        lines = [json.loads(json.dumps(line)) for line in export_lines(session, private=True)]
    assert lines[-1]["payload_version"] == 1
    assert verify_export(lines).problems == []
    lines[-1]["payload_version"] = 2  # read as version 2, the same bytes do not match
    assert [p.seq for p in verify_export(lines).problems] == [seq]


def test_an_export_without_a_closed_claims_reveals_fails(
    client: TestClient,
    tokens: Tokens,
    clock: FakeClock,
    db: Database,
    tmp_path: Path,
    database_url: str,
) -> None:
    _resolve(client, tokens, clock)
    with db.reading() as session:
        lines = [json.loads(json.dumps(line)) for line in export_lines(session, private=False)]
    assert verify_export(lines).problems == [] and verify_export(lines).commitments == 2
    stripped = [{k: v for k, v in line.items() if k != "reveal"} for line in lines]
    problems = verify_export(stripped).problems
    assert [p.seq for p in problems] == [2, 3]
    assert "revealed this commitment; no reveal here" in problems[0].reason
    export = tmp_path / "stripped.jsonl"
    export.write_text("".join(json.dumps(line) + "\n" for line in stripped))
    result = _cli(database_url, "verify", "--file", str(export))
    assert result.returncode == 1 and "FAILED at seq 2" in result.stdout


def _entries(db: Database, kind: str) -> list[dict[str, Any]]:
    with db.read_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT payload FROM ledger_entries WHERE kind = :k ORDER BY seq"), {"k": kind}
        )
        return [json.loads(payload) for (payload,) in rows]


def test_a_text_edit_after_the_first_forecast_is_recorded(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=1))
    client.post(f"{API}/forecasts", json={"probability": 0.7}, headers=auth(tokens.alice))
    patch = {"title": "A clearer title", "tags": ["video", "ai"], "fine_print": "Small."}
    assert client.patch(API, json=patch, headers=auth(tokens.editor)).status_code == 200
    (entry,) = _entries(db, "claim_text_amended")
    text_fields = {k: entry[k] for k in ("title", "description", "fine_print", "tags")}
    assert "source" not in entry  # a source change is `source_amended` (SPEC §8)
    assert text_fields["title"] == "A clearer title" and text_fields["tags"] == ["ai", "video"]
    assert entry["text_hash"] == hashlib.sha256(rfc8785.dumps(text_fields)).hexdigest()
    assert client.patch(API, json=patch, headers=auth(tokens.editor)).status_code == 200
    assert len(_entries(db, "claim_text_amended")) == 1  # the same text again: nothing new
    assert _verify(db).problems == []


def test_edits_of_a_published_claim_before_any_forecast_are_recorded_too(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    """Otherwise the row could not be told from a forged one."""
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=2))
    patch = {
        "title": "Retitled",
        "resolution_criteria": "Yes if so.",
        "closes_at": "2026-01-02T12:00:00Z",
    }
    assert client.patch(API, json=patch, headers=auth(tokens.editor)).status_code == 200
    assert len(_entries(db, "claim_text_amended")) == 1
    (criteria,) = _entries(db, "criteria_amended")
    assert criteria["version"] == 1  # no forecast yet: nothing to keep, no new version
    (window,) = _entries(db, "window_amended")
    assert window["closes_at"] == "2026-01-02T12:00:00.000000Z" and "opens_at" in window
    assert _verify(db).problems == []


@pytest.mark.parametrize(
    "patch",
    [
        {"title": "Too late"},
        {"tags": ["late"]},
        {"description": "x"},
    ],
)
def test_the_text_of_a_settled_claim_cannot_change(
    client: TestClient, tokens: Tokens, clock: FakeClock, db: Database, patch: dict[str, Any]
) -> None:
    _resolve(client, tokens, clock)
    refused = client.patch(API, json=patch, headers=auth(tokens.editor))
    assert refused.status_code == 409, refused.text
    assert "settled" in refused.text
    assert _entries(db, "claim_text_amended") == []
