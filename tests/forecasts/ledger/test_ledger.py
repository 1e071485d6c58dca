"""The hash chain: links, commitments, the close with its reveal, export and offline verify."""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import DatabaseError

from forecasts.archive.verify import export_lines, verify_database, verify_export
from forecasts.ledger.chain import (
    GENESIS_HASH,
    canonical,
    commitment_body,
    commitment_hash,
    entry_hash,
)
from forecasts.resolution.reveal import close_due_claims
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim, rewrite_behind_the_app
from web.db import Database

SLUG = "gen-video-out-of-top-five"
URL = f"/api/v1/claims/{SLUG}/forecasts"


def test_entry_hash_follows_the_spec_byte_format() -> None:
    import hashlib

    text = f"{GENESIS_HASH}|1|claim_published|2026-01-01T00:00:00.000001Z|{'a' * 64}"
    assert (
        entry_hash(GENESIS_HASH, 1, "claim_published", "2026-01-01T00:00:00.000001Z", "a" * 64)
        == hashlib.sha256(text.encode()).hexdigest()
    )


def test_canonical_json_is_rfc8785() -> None:
    assert canonical({"b": 1, "a": [0.5, "é", None]}) == '{"a":[0.5,"é",null],"b":1}'.encode()
    assert canonical({"p": 1e-3}) == b'{"p":0.001}'


def _populate(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, closes_at=T0 + timedelta(days=1))
    client.post(URL, json={"probability": 0.7, "rationale": "r"}, headers=auth(tokens.alice))
    client.post(URL, json={"probability": 0.2}, headers=auth(tokens.bob))
    client.post(f"/api/v1/claims/{SLUG}/withdraw", headers=auth(tokens.bob))
    client.post(URL, json={"probability": 0.8}, headers=auth(tokens.alice))


def test_chain_verifies_and_commitments_match(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    _populate(client, tokens)
    with db.reading() as session:
        report = verify_database(session)
    assert report.problems == []
    assert report.entries == 5 and report.commitments == 4
    head = client.get("/api/v1/ledger/head").json()
    assert head["seq"] == 5 and head["hash"] == report.head
    entries = client.get("/api/v1/ledger?after=1&limit=2").json()
    assert [e["seq"] for e in entries["items"]] == [2, 3]
    assert entries["items"][0]["payload"] is None  # a commitment reveals nothing while open
    rest = client.get(f"/api/v1/ledger?cursor={entries['next_cursor']}").json()
    assert [e["seq"] for e in rest["items"]] == [4, 5] and rest["next_cursor"] is None


def test_close_reveals_salts_once(
    client: TestClient, tokens: Tokens, db: Database, clock: FakeClock
) -> None:
    _populate(client, tokens)
    assert close_due_claims(db.write_engine, clock) == 0
    clock.set(T0 + timedelta(days=1))
    assert close_due_claims(db.write_engine, clock) == 1
    assert close_due_claims(db.write_engine, clock) == 0
    entries = client.get("/api/v1/ledger").json()["items"]
    closed = entries[-1]
    assert closed["kind"] == "claim_closed"
    assert [r["seq"] for r in closed["payload"]["reveals"]] == [2, 3, 4, 5]
    with db.reading() as session:
        lines = list(export_lines(session, private=False))
    reveal = lines[1]["reveal"]
    body = {k: reveal[k] for k in ("claim", "handle", "probability", "created_at", "rationale")}
    assert body == commitment_body(SLUG, "alice", 0.7, _parse(reveal["created_at"]), "r")
    assert lines[1]["payload_version"] == 2
    assert commitment_hash(body, reveal["salt"]) == lines[1]["payload_hash"]
    assert verify_export(lines).problems == []


def _parse(text: str):  # type: ignore[no-untyped-def]
    from claims.clock import parse_stamp

    return parse_stamp(text)


def test_public_export_hides_open_claims_salts(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    _populate(client, tokens)
    with db.reading() as session:
        public = list(export_lines(session, private=False))
        private = list(export_lines(session, private=True))
    assert all("reveal" not in line for line in public)
    assert "alice" not in json.dumps(public)
    assert sum("reveal" in line for line in private) == 4
    assert verify_export(public).problems == [] and verify_export(private).problems == []


def test_offline_verify_catches_edits(client: TestClient, tokens: Tokens, db: Database) -> None:
    _populate(client, tokens)
    with db.reading() as session:
        lines = list(export_lines(session, private=True))
    head = lines[-1]["hash"]
    assert verify_export(lines, expect_head=head).problems == []
    assert verify_export(lines, expect_head="f" * 64).problems
    forged = [dict(line) for line in lines]
    forged[1]["reveal"] = {**forged[1]["reveal"], "probability": 0.99}
    assert [p.seq for p in verify_export(forged).problems] == [2]
    dropped = lines[:2] + lines[3:]
    assert verify_export(dropped).problems[0].seq == 4
    relinked = [dict(line) for line in lines]
    relinked[0]["payload"] = {**relinked[0]["payload"], "title": "changed"}
    assert verify_export(relinked).problems[0].seq == 1


def test_database_refuses_rewrites(client: TestClient, tokens: Tokens, db: Database) -> None:
    _populate(client, tokens)
    with db.write_engine.begin() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.exec_driver_sql("UPDATE forecasts SET probability = 0.01")
    with db.write_engine.begin() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.exec_driver_sql("DELETE FROM ledger_entries")


def test_verify_names_a_row_changed_behind_the_apps_back(
    client: TestClient, tokens: Tokens, db: Database, database_url: str
) -> None:
    _populate(client, tokens)
    rewrite_behind_the_app(
        database_url, "forecasts", "UPDATE forecasts SET probability = 0.01 WHERE ledger_seq = 3"
    )
    with db.reading() as session:
        report = verify_database(session)
    assert [p.seq for p in report.problems] == [3]
    assert "commitment" in report.problems[0].reason


def test_verify_names_a_deleted_row(
    client: TestClient, tokens: Tokens, db: Database, database_url: str
) -> None:
    _populate(client, tokens)
    rewrite_behind_the_app(database_url, "forecasts", "DELETE FROM forecasts WHERE ledger_seq = 4")
    with db.reading() as session:
        assert [p.seq for p in verify_database(session).problems] == [4]


@given(
    claim=st.from_regex(r"[a-z0-9](-?[a-z0-9]){0,30}", fullmatch=True),
    handle=st.from_regex(r"[a-z0-9](-?[a-z0-9]){0,20}", fullmatch=True),
    probability=st.one_of(st.none(), st.floats(min_value=0.001, max_value=0.999)),
    micros=st.integers(min_value=0, max_value=10**15),
    rationale=st.one_of(st.none(), st.text(), st.text(alphabet=st.characters(max_codepoint=0x7F))),
    version=st.sampled_from([1, 2]),
)
@settings(deadline=None, max_examples=300)
def test_quick_commitment_bytes_are_rfc8785(
    claim: str,
    handle: str,
    probability: float | None,
    micros: int,
    rationale: str | None,
    version: int,
) -> None:
    from datetime import UTC, datetime

    from forecasts.ledger.chain import _commitment_json

    at = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    body = commitment_body(claim, handle, probability, at, rationale, version=version)
    assert _commitment_json(body) == canonical(body)
    assert ("rationale" in body) == (version == 2)


@given(
    values=st.lists(
        st.one_of(
            st.floats(min_value=0, max_value=1).map(lambda v: round(v, 10)),
            st.sampled_from([0.0, 1.0, 0.00005, 0.0001, 0.9999999999]),
        ),
        min_size=1,
        max_size=201,
    ),
    rationale=st.one_of(st.none(), st.text()),
)
@settings(deadline=None, max_examples=300)
def test_quick_cdf_commitment_bytes_are_rfc8785(values: list[float], rationale: str | None) -> None:
    from forecasts.ledger.chain import _commitment_json

    shape = {"cdf": values}
    body = commitment_body(
        "a-claim", "alice", None, "2026-01-01T00:00:00.000000Z", rationale, shape=shape
    )
    assert _commitment_json(body) == canonical(body)


@given(
    inner=st.lists(
        st.floats(min_value=1e-4, max_value=1, exclude_max=True), min_size=199, max_size=199
    ),
    ends=st.tuples(st.sampled_from([0.0, 0.001, 0.5]), st.sampled_from([1.0, 0.999, 0.9995])),
    claim=st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
    handle=st.one_of(st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True), st.text(max_size=5)),
    rationale=st.one_of(st.none(), st.text()),
)
@settings(deadline=None, max_examples=300)
def test_quick_cdf_commitment_of_full_precision_values_is_rfc8785(
    inner: list[float], ends: tuple[float, float], claim: str, handle: str, rationale: str | None
) -> None:
    # every number of the fast path (orjson's digits) next to the RFC 8785 library's
    from forecasts.ledger.chain import _commitment_json

    shape = {"cdf": [ends[0], *inner, ends[1]]}
    body = commitment_body(
        claim, handle, None, "2026-01-01T00:00:00.000000Z", rationale, shape=shape
    )
    assert _commitment_json(body) == canonical(body)
