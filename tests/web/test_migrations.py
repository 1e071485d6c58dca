"""Migrations over a database that already holds a ledger: nothing lost, guards still there."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from tests import pg
from tests.conftest import ON_POSTGRES, SERVER_URL
from tests.factories import T0, FakeClock, auth, make_account, make_claim
from web.app import create_app
from web.db import Database
from web.migrate import downgrade, upgrade
from web.settings import Settings


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    name = f"fl_migrate_{uuid.uuid4().hex[:12]}"
    pg.create_database(SERVER_URL, name)
    try:
        yield pg.with_database(SERVER_URL, name)
    finally:
        pg.drop_database(SERVER_URL, name)


def _head(db: Database) -> tuple[int, str]:
    with db.write_engine.connect() as conn:
        row = conn.execute(text("SELECT seq, hash FROM ledger_head")).one()
    return int(row[0]), str(row[1])


def _unique_hash(db: Database) -> bool:
    unique = inspect(db.write_engine).get_unique_constraints("ledger_entries")
    return any(u["column_names"] == ["hash"] for u in unique)


def _index_names(db: Database, table: str) -> set[str]:
    query = (
        "SELECT indexname FROM pg_indexes WHERE tablename = :t"
        if ON_POSTGRES
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    )
    with db.write_engine.connect() as conn:
        return {str(name) for (name,) in conn.execute(text(query), {"t": table})}


def test_0005_keeps_the_ledger_and_its_guards(empty_url: str) -> None:
    """A record made by today's code, taken back to release 0004's schema, then upgraded.

    (Today's code cannot write into the 0004 schema itself: its tables have new columns.)
    """
    db = Database(empty_url)
    upgrade(db.write_engine)
    editor = make_account(db, handle="ed", role="editor")
    alice = make_account(db, handle="alice")
    settings = Settings(database_url=empty_url, rate_limit=0)
    clock = FakeClock(now=T0)
    app = create_app(settings, clock=clock, migrate=False)
    with TestClient(app) as client:
        make_claim(client, editor, slug="old-claim", closes_at=T0 + timedelta(days=3))
        for p in (0.2, 0.4, 0.6):
            reply = client.post(
                "/api/v1/claims/old-claim/forecasts", json={"probability": p}, headers=auth(alice)
            )
            assert reply.status_code == 201
    before = _head(db)
    downgrade(db.write_engine, "0004")
    assert _unique_hash(db)  # what 0005 removes
    assert "session_epoch" not in {
        c["name"] for c in inspect(db.write_engine).get_columns("accounts")
    }
    assert _head(db) == before
    db.dispose()

    db = Database(empty_url)
    upgrade(db.write_engine)
    assert _head(db) == before
    schema = inspect(db.write_engine)
    assert not [
        u for u in schema.get_unique_constraints("ledger_entries") if u["column_names"] == ["hash"]
    ]
    schema = inspect(db.write_engine)
    assert "ix_forecasts_account_id" not in {i["name"] for i in schema.get_indexes("forecasts")}
    assert "ix_ledger_entries_claim_id" in {i["name"] for i in schema.get_indexes("ledger_entries")}
    score_indexes = _index_names(db, "scores")  # reflection skips expression indexes
    assert "ix_scores_shelf_handle" in score_indexes and "ix_scores_handle" not in score_indexes
    with db.write_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == before[0]
    for statement in ("UPDATE ledger_entries SET kind = 'x'", "DELETE FROM ledger_entries"):
        with pytest.raises(DatabaseError), db.write_engine.begin() as conn:
            conn.execute(text(statement))
    with pytest.raises(IntegrityError), db.write_engine.begin() as conn:  # still a foreign key
        conn.execute(text("INSERT INTO commitment_salts (ledger_seq, salt) VALUES (99999, 'x')"))
    if not ON_POSTGRES:
        with db.write_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    app = create_app(Settings(database_url=empty_url, rate_limit=0), clock=clock, migrate=False)
    with TestClient(app) as client:
        assert (
            client.post(
                "/api/v1/claims/old-claim/forecasts", json={"probability": 0.7}, headers=auth(alice)
            ).status_code
            == 201
        )
        assert client.get("/api/v1/ledger/head").json()["seq"] == before[0] + 1
    db.dispose()


def test_0012_makes_existing_claims_binary_and_keeps_the_guards(empty_url: str) -> None:
    db = Database(empty_url)
    upgrade(db.write_engine)
    editor = make_account(db, handle="ed", role="editor")
    alice = make_account(db, handle="alice")
    app = create_app(Settings(database_url=empty_url, rate_limit=0), clock=FakeClock(now=T0))
    with TestClient(app) as client:
        make_claim(client, editor, slug="old-claim", closes_at=T0 + timedelta(days=3))
        url = "/api/v1/claims/old-claim/forecasts"
        assert client.post(url, json={"probability": 0.3}, headers=auth(alice)).status_code == 201
    downgrade(db.write_engine, "0011_evidence_public_address")
    assert "kind" not in {c["name"] for c in inspect(db.write_engine).get_columns("claims")}
    upgrade(db.write_engine)
    with db.write_engine.connect() as conn:
        row = conn.execute(
            text("SELECT kind, open_lower_bound, open_upper_bound, log_scale, unit FROM claims")
        ).one()
        assert tuple(row) == ("binary", True, True, False, "")
        stored = conn.execute(text("SELECT probability, distribution FROM forecasts")).one()
        assert tuple(stored) == (0.3, None)
    with pytest.raises(DatabaseError), db.write_engine.begin() as conn:
        conn.execute(text("UPDATE forecasts SET distribution = NULL"))
    db.dispose()
