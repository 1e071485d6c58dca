"""Engines and sessions: SQLite with WAL and IMMEDIATE write transactions, or PostgreSQL."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

log = logging.getLogger(__name__)

# A write transaction dirties a page per forecaster it touches (resolving a claim with a
# thousand forecasters: ~2,500 pages); below this, SQLite spills them to the WAL mid-way.
WRITE_CACHE_KIB = 64 * 1024
# Commits run a checkpoint themselves only past this many WAL pages (40 MB): the background
# checkpointer (`Database.start_checkpoints`) normally gets there first.
AUTOCHECKPOINT_PAGES = 10_000
CHECKPOINT_SECONDS = 1.0


def _sqlite_engine(url: str, *, begin: str, cache_kib: int | None = None) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # acknowledged means on disk
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        if cache_kib is not None:
            cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """A read engine and a write engine over one database.

    On SQLite, write transactions start with BEGIN IMMEDIATE so they take the write lock
    before reading (no upgrade deadlocks) and the ledger's appends are serialised; reads stay
    deferred so they never wait for writers (WAL). On PostgreSQL both are the same engine.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(url, begin="BEGIN")
            self.write_engine = _sqlite_engine(
                url, begin="BEGIN IMMEDIATE", cache_kib=WRITE_CACHE_KIB
            )
        else:
            self.read_engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self.write_engine = self.read_engine
        self._checkpoints: _Checkpointer | None = None

    def start_checkpoints(self) -> None:
        """On SQLite, checkpoint the WAL in the background (for long-running processes)."""
        if self.is_sqlite and self._checkpoints is None:
            self._checkpoints = _Checkpointer(self.read_engine, CHECKPOINT_SECONDS)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with Session(self.write_engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


class _Checkpointer:
    """Copies committed WAL pages into the database file every `interval` seconds, on its own
    connection. PASSIVE: it neither waits for nor blocks readers and the writer, and its
    fsync runs outside Python's GIL, so the copying leaves the commits (a submission batch,
    a resolution) that would otherwise run it when the WAL passes AUTOCHECKPOINT_PAGES."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self._stop = threading.Event()
        self.runs = 0
        self._thread = threading.Thread(
            target=self._run, args=(engine, interval), name="wal-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self, engine: Engine, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                with engine.connect() as conn:  # no BEGIN: the pragma runs on its own
                    conn.connection.driver_connection.execute(  # type: ignore[union-attr]
                        "PRAGMA wal_checkpoint(PASSIVE)"
                    )
                self.runs += 1
            except Exception:  # a locked or vanished file: try again next time
                log.warning("WAL checkpoint failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
