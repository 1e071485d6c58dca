"""Rebuild every Score row and every per-forecaster total from the record (`rescore`).

Scores are derived data (SPEC §3), so the whole table can be thrown away and written again
from the claims and the forecasts: after a change to the score math, after a restore, or to
check that the incremental totals have not drifted.
"""

import gc
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, select
from sqlmodel import Session

from claims.closing import tc
from claims.states import ClaimState
from forecasts.ledger.driver import mark_of, micros_of, stored_time
from forecasts.ledger.tables import accounts_t, claims_t, scores_t
from forecasts.score_math.batch_scoring import ClaimBatch, ScoreColumns, score_batch
from forecasts.scores.claim_scores import ScoreWriter
from forecasts.scores.claim_windows import (
    KIND_COLUMNS,
    ClaimWindow,
    claim_batch,
    probabilities_of,
    window_of,
)

_REBUILD_CACHE_KIB = 256 * 1024


@dataclass(frozen=True)
class RescoreReport:
    claims: int
    rows: int
    handles: int


Progress = Callable[[int, int], None]


def rescore_all(
    session: Session,
    *,
    now: datetime,
    progress: Progress | None = None,
    chunk: int = 500,
    workers: int = 1,
) -> RescoreReport:
    """Rebuild every Score row and every total from the record, in one transaction; commits.

    Every forecast is read in one scan, then claims are scored a chunk at a time, by
    `workers` processes when above 1 (the scoring is CPU-bound and pure; reading and writing
    stay in this process, in its transaction). `progress(done, total)` is called after each
    chunk.
    """
    with _without_cyclic_gc(), _scorers(workers) as pool, _rebuilding(session) as conn:
        sqlite = conn.dialect.name == "sqlite"
        windows = _resolved_windows(conn)
        accounts = conn.execute(select(accounts_t.c.handle, accounts_t.c.id)).all()
        writer = ScoreWriter(conn, sorted((str(h), int(a)) for h, a in accounts), now)
        # SQLite: building an index afterwards beats a million inserts at random places in it
        indexes = _drop_indexes(conn) if sqlite else []
        conn.execute(delete(scores_t))
        written = done = 0
        for kind_windows, batch in read_batches(conn, windows, writer.forecasters):
            for start, columns in score_parts(batch, chunk, pool, workers):
                part = kind_windows[start : start + chunk]
                writer.insert(part, columns, keep=True)
                written += len(columns)
                done += len(part)
                if progress is not None:
                    progress(done, len(windows))
        for sql in indexes:
            conn.exec_driver_sql(sql)
        handles = writer.replace_totals()
    return RescoreReport(claims=len(windows), rows=written, handles=handles)


@contextmanager
def _rebuilding(session: Session) -> Iterator[Connection]:
    """The connection to rebuild on, in its transaction, committed when the block ends.

    On SQLite the page cache grows for the rebuild (rewriting every index of a million rows
    thrashes the default 2 MB). There, unless the session has begun a transaction already
    (a restore rescores inside its own), the rebuild runs on a connection of its own with
    foreign keys off, a setting that only takes effect outside a transaction: checking each
    of a million rows as it is written cost ≈ 1.8 s, and a DELETE of the whole table is then
    one truncation instead of a million row deletes (≈ 4 s). The rows are checked once, all
    together, before the commit (≈ 0.4 s); every row names a claim and an account read in
    the same write transaction, so that check is a safety net.
    """
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite" or session.in_transaction():
        conn = session.connection()
        with _sqlite_pragmas(conn, cache_size=-_REBUILD_CACHE_KIB):
            yield conn
        session.commit()
        return
    with (
        bind.connect() as conn,
        _sqlite_pragmas(conn, cache_size=-_REBUILD_CACHE_KIB, foreign_keys=0),
        conn.begin(),
    ):
        yield conn
        # what the per-row checks would have caught, at a quarter of their cost
        broken = conn.exec_driver_sql(f"PRAGMA foreign_key_check({scores_t.name})").all()
        if broken:
            raise RuntimeError(
                f"score rows name claims or accounts that do not exist: {broken[:5]}"
            )


@contextmanager
def _sqlite_pragmas(conn: Connection, **values: int) -> Iterator[None]:
    """Set SQLite pragmas on the connection for the block, then put them back (no-op elsewhere).

    Through the driver, so that SQLAlchemy does not begin a transaction for them.
    """
    driver = conn.connection.driver_connection
    if conn.dialect.name != "sqlite" or driver is None:
        yield
        return
    before = {name: int(driver.execute(f"PRAGMA {name}").fetchone()[0]) for name in values}
    for name, value in values.items():
        driver.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        for name, value in before.items():
            driver.execute(f"PRAGMA {name} = {value}")


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a million rows of tuples would set it off again
    and again, each time walking every object alive (a third of the rescore's time), and
    they hold no cycles to find."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _scorers(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes (none for 1), started first so they boot while the record is read."""
    if workers <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")  # no forked copies of open connections
    with _one_blas_thread(), ProcessPoolExecutor(workers, mp_context=context) as pool:
        for _ in range(workers):
            pool.submit(int)  # spawns the processes now, not at the first chunk
        yield pool


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Workers spawned meanwhile run BLAS on one thread: they already keep every core busy,
    and OpenBLAS's threads contending for them made each small product of the numeric crowd
    (100 x 100 by 201) cost 10 ms instead of 0.2 ms."""
    before = {name: os.environ.get(name) for name in _BLAS_THREADS}
    os.environ.update(dict.fromkeys(_BLAS_THREADS, "1"))
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _drop_indexes(conn: Connection) -> list[str]:
    """Drop the scores table's own indexes (SQLite); returns the SQL that makes them again."""
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (scores_t.name,),
    ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [str(sql) for _, sql in found]


def read_batches(
    conn: Connection, windows: list[ClaimWindow], forecasters: list[tuple[str, int]]
) -> list[tuple[list[ClaimWindow], ClaimBatch]]:
    """Every event of the resolved claims, in one scan of the forecasts, as one batch per
    kind (binary first), each grouped by claim, with its claims' windows.

    One sequential scan through the driver's cursor is several times faster than fetching
    claim by claim through the (claim, seq) index, and numbers go straight into arrays.
    """
    if not windows:  # nothing resolved: no forecast needs reading
        return [([], claim_batch([], [], [], [], [], []))]
    ids = np.array([w.id for w in windows], dtype=np.int64)
    rank = {account: i for i, (_, account) in enumerate(forecasters)}
    cursor = conn.connection.cursor()
    cursor.execute(
        "SELECT claim_id, account_id, created_at, ledger_seq, probability, distribution "
        "FROM forecasts"
    )
    parts: list[list[Any]] = []
    packed: list[Any] = []
    while rows := cursor.fetchmany(100_000):
        # a column at a time: twice as fast as zip(*rows)
        claim, account, at, seq, probability, data = (
            list(map(itemgetter(i), rows)) for i in range(6)
        )
        claim_id = np.array(claim, dtype=np.int64)
        position = np.searchsorted(ids, claim_id)
        kept = np.flatnonzero(ids[np.minimum(position, len(ids) - 1)] == claim_id)
        parts.append(
            [
                position[kept],
                np.array(list(map(rank.__getitem__, account)), dtype=np.int64)[kept],
                micros_of(at)[kept],
                np.array(seq, dtype=np.int64)[kept],
                probabilities_of(probability)[kept],
            ]
        )
        packed.extend([data[k] for k in kept.tolist()])
    cursor.close()
    if not parts:
        parts = [[np.zeros(0, dtype=np.int64)] * 4 + [np.zeros(0)]]
    claim_of, forecaster, at_us, seq_no, probability_of = map(
        np.concatenate, zip(*parts, strict=True)
    )
    order = np.argsort(claim_of, kind="stable")
    sizes = np.bincount(claim_of, minlength=len(windows))
    starts = np.concatenate(([0], np.cumsum(sizes)))
    batches = []
    for kind in dict.fromkeys(w.kind for w in sorted(windows, key=lambda w: w.kind != "binary")):
        mine = [i for i, w in enumerate(windows) if w.kind == kind]
        events = np.concatenate([order[starts[i] : starts[i + 1]] for i in mine]).astype(np.int64)
        batches.append(
            (
                [windows[i] for i in mine],
                claim_batch(
                    [windows[i] for i in mine],
                    sizes[mine].tolist(),
                    forecaster[events],
                    at_us[events],
                    seq_no[events],
                    probability_of[events],
                    None if kind == "binary" else [packed[e] for e in events.tolist()],
                ),
            )
        )
    return batches


def score_parts(
    batch: ClaimBatch, chunk: int, pool: ProcessPoolExecutor | None, ahead_by: int
) -> Iterator[tuple[int, ScoreColumns]]:
    """Each chunk of claims (its first claim's position) and its rows, in order.

    With a pool, `ahead_by` chunks ahead in its processes.
    """
    starts = range(0, len(batch), chunk)
    if pool is None:
        for start in starts:
            yield start, score_batch(batch.part(start, min(start + chunk, len(batch))))
        return
    ahead: deque[tuple[int, Future[ScoreColumns]]] = deque()
    for start in starts:
        part = batch.part(start, min(start + chunk, len(batch)))
        ahead.append((start, pool.submit(score_batch, part)))
        if len(ahead) > ahead_by:
            first, future = ahead.popleft()
            yield first, future.result()
    while ahead:
        first, future = ahead.popleft()
        yield first, future.result()


def _resolved_windows(conn: Connection) -> list[ClaimWindow]:
    """The resolved claims, by id; times parsed here (SQLAlchemy's took ≈ 0.4 s for 10,000)."""
    rows = conn.exec_driver_sql(
        "SELECT id, opens_at, closes_at, closed_early_at, resolves_at, "
        f"{', '.join(KIND_COLUMNS)} FROM {claims_t.name} WHERE state = {mark_of(conn)}",
        (ClaimState.RESOLVED,),
    ).all()
    windows = []
    for id_, opens_at, closes_at, closed_early_at, resolves_at, *kind_fields in rows:
        closes = stored_time(closes_at)
        early = None if closed_early_at is None else stored_time(closed_early_at)
        fields = dict(zip(KIND_COLUMNS, kind_fields, strict=True))
        if isinstance(fields["options"], str):  # JSON read through the driver
            fields["options"] = json.loads(fields["options"])
        times = {
            "opens_at": stored_time(opens_at),
            "closes_at": closes,
            "resolves_at": stored_time(resolves_at),
        }
        window = window_of(int(id_), times, fields, closed_at=tc(closes, early))
        if window is not None:
            windows.append(window)
    return sorted(windows, key=lambda window: window.id)
