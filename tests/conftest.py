"""Shared fixtures: a migrated SQLite file copied per test, a fake clock, the app's client."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import FakeClock, make_account
from web.app import create_app
from web.db import Database
from web.migrate import upgrade
from web.settings import Settings


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db.write_engine)
    db.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: Path) -> str:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


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
