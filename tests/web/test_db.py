"""The SQLite engines' settings and the background WAL checkpointer (web/db.py)."""

import time
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES
from tests.factories import make_account
from web.db import AUTOCHECKPOINT_PAGES, WRITE_CACHE_KIB, Database
from web.migrate import upgrade


def test_the_checkpointer_runs_beside_the_commits(tmp_path: Path) -> None:
    """A long-running process checkpoints the WAL in the background (web/db.py): commits run
    one themselves only past AUTOCHECKPOINT_PAGES, and write connections cache enough pages
    for a big resolution's transaction."""
    if ON_POSTGRES:
        pytest.skip("SQLite's WAL")
    url = f"sqlite:///{tmp_path / 'wal.sqlite3'}"
    db = Database(url)
    upgrade(db.write_engine)
    with db.write_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == AUTOCHECKPOINT_PAGES
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -WRITE_CACHE_KIB
    for i in range(30):
        make_account(db, handle=f"w{i}")
    db.start_checkpoints()
    checkpoints = db._checkpoints
    assert checkpoints is not None
    deadline = time.monotonic() + 10
    while checkpoints.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpoints.runs >= 2
    db.dispose()
    assert db._checkpoints is None
