"""Shared fixtures: a fresh migrated database per test, a fake clock, the app's client.

SQLite by default (a migrated file copied per test). With FORECAST_LEDGER_TEST_DATABASE_URL
set to a PostgreSQL server (see tests/postgres.sh), each test gets its own database cloned
from a migrated template instead, so the same suite runs on both engines.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import pg
from tests.factories import FakeClock, make_account
from web.app import create_app
from web.db import Database
from web.migrate import upgrade
from web.settings import Settings

SERVER_URL = os.environ.get("FORECAST_LEDGER_TEST_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgresql")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated SQLite file's path, or the name of a migrated PostgreSQL template database."""
    if not ON_POSTGRES:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        db = Database(f"sqlite:///{path}")
        upgrade(db.write_engine)
        db.dispose()
        yield str(path)
        return
    name = f"fl_template_{uuid.uuid4().hex[:12]}"
    pg.create_database(SERVER_URL, name)
    db = Database(pg.with_database(SERVER_URL, name))
    upgrade(db.write_engine)
    db.dispose()
    yield name
    pg.drop_database(SERVER_URL, name)


@contextmanager
def fresh_database(directory: Path, migrated_template: str) -> Iterator[str]:
    """The URL of a new database copied from the migrated template, dropped afterwards."""
    if not ON_POSTGRES:
        path = directory / "ledger.sqlite3"
        shutil.copy(migrated_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"fl_test_{uuid.uuid4().hex[:12]}"
    pg.create_database(SERVER_URL, name, template=migrated_template)
    try:
        yield pg.with_database(SERVER_URL, name)
    finally:
        pg.drop_database(SERVER_URL, name)


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: str) -> Iterator[str]:
    with fresh_database(tmp_path, migrated_template) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, rate_limit=0)


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, migrate=False)
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Tokens:
    alice: str
    bob: str
    editor: str
    admin: str


@pytest.fixture
def tokens(db: Database) -> Tokens:
    return Tokens(
        alice=make_account(db, handle="alice"),
        bob=make_account(db, handle="bob"),
        editor=make_account(db, handle="eddie", role="editor"),
        admin=make_account(db, handle="ada", role="admin"),
    )
