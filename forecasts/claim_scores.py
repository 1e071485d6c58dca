"""Score rows of resolved claims, derived from the record: for one claim, or for all of them.

Scores are derived data (SPEC §3): every row here can be rebuilt from the claims and the
forecasts, which is what `rescore_all` does. Replacing a claim's rows also moves the
per-forecaster totals (forecasts.totals) in the same transaction.
"""

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Table, delete, select, text
from sqlmodel import Session

from claims.clock import as_utc
from claims.lifecycle import effective_close
from claims.models import RESOLVED, Claim
from forecasts.batch_scoring import ClaimBatch, ScoreColumns, score_batch
from forecasts.models import Account, Forecast, Score
from forecasts.scoring import CROWD_HANDLE, ScoringEvent
from forecasts.totals import apply_changes, replace_totals

scores_t: Table = Score.__table__  # type: ignore[attr-defined]
forecasts_t: Table = Forecast.__table__  # type: ignore[attr-defined]
accounts_t: Table = Account.__table__  # type: ignore[attr-defined]
claims_t: Table = Claim.__table__  # type: ignore[attr-defined]

OUTCOME_VALUE = {"yes": 1, "no": 0}
_REBUILD_CACHE_KIB = 256 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ROWS_PER_INSERT = 500  # rows per multi-row INSERT: 7,000 parameters, under every limit
_TOTALS_FIELDS = (
    "brier",
    "time_averaged_brier",
    "market_points",
    "peer_score",
    "coverage",
    "baseline_score",
)


@dataclass(frozen=True)
class ClaimWindow:
    """What scoring needs to know of a resolved claim."""

    id: int
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime  # Tc
    resolves_at: datetime
    outcome: int

    @classmethod
    def of(cls, claim: Claim) -> "ClaimWindow":
        assert claim.id is not None and claim.outcome in OUTCOME_VALUE
        return cls(
            id=claim.id,
            opens_at=claim.opens_at,
            closes_at=claim.closes_at,
            closed_at=effective_close(claim),
            resolves_at=claim.resolves_at,
            outcome=OUTCOME_VALUE[claim.outcome],
        )


def micros(moment: datetime) -> int:
    """An aware time as integer microseconds since the epoch (exact, unlike a float)."""
    return (as_utc(moment) - _EPOCH) // _MICROSECOND


def _micros_of(values: Sequence[Any]) -> npt.NDArray[np.int64]:
    """Stored times as microseconds: SQLite gives back naive UTC text, PostgreSQL datetimes."""
    if values and isinstance(values[0], str):
        return np.array(values, dtype="datetime64[us]").astype(np.int64)
    return np.array([micros(value) for value in values], dtype=np.int64)


def _probabilities(values: Sequence[float | None]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if p is None else p for p in values], dtype=np.float64)


def claim_events(conn: Connection, claim_id: int) -> tuple[list[ScoringEvent], dict[str, int]]:
    """Every forecast and withdrawal on the claim (imported ones too), and the handles' ids."""
    rows = conn.execute(_events_of(claim_id)).all()
    events = [ScoringEvent(handle, _moment(at), seq, p) for _, handle, at, seq, p in rows]
    return events, {row[1]: row[0] for row in rows}


def _events_of(claim_id: int) -> Any:
    return text(
        "SELECT f.account_id, a.handle, f.created_at, f.ledger_seq, f.probability "
        "FROM forecasts f JOIN accounts a ON a.id = f.account_id WHERE f.claim_id = :claim"
    ).bindparams(claim=claim_id)


def replace_claim_scores(session: Session, claim: Claim, *, now: datetime) -> int:
    """Delete the claim's Score rows and, if it is resolved, write them afresh; moves the totals.

    Runs inside the caller's transaction (it does not commit). Returns the rows written.
    """
    assert claim.id is not None
    conn = session.connection()
    old = [dict(row._mapping) for row in conn.execute(_scores_of(claim.id))]
    conn.execute(delete(scores_t).where(scores_t.c.claim_id == claim.id))
    new: list[dict[str, Any]] = []
    if claim.state == RESOLVED and claim.outcome in OUTCOME_VALUE:
        window = ClaimWindow.of(claim)
        rows = conn.execute(_events_of(claim.id)).all()
        accounts, handles, at, seq, probability = zip(*rows, strict=True) if rows else ([],) * 5
        writer = _RowWriter(conn, sorted(dict(zip(handles, accounts, strict=True)).items()), now)
        ranks = {handle: rank for rank, (handle, _) in enumerate(writer.forecasters)}
        batch = _batch([window], [len(rows)], [ranks[h] for h in handles], at, seq, probability)
        columns = score_batch(batch)
        new = writer.mappings(columns)
        writer.insert([window], columns)
    apply_changes(conn, old, new)
    return len(new)


_COLUMNS = (
    "claim_id",
    "account_id",
    "handle",
    "brier",
    "time_averaged_brier",
    "coverage",
    "log_score",
    "baseline_score",
    "peer_score",
    "market_points",
    "probability_at_close",
    "outcome",
    "resolves_at",
    "scored_at",
)


class _RowWriter:
    """Writes ScoreColumns as Score rows, straight through the driver, many rows a statement.

    SQLAlchemy's per-row parameter processing costs more than the insert itself at a million
    rows, and so does a statement per row; the two time columns are converted with the
    column type's own bind processor, once per distinct value, so they are stored in the
    usual format.
    """

    def __init__(self, conn: Connection, forecasters: list[tuple[str, int]], now: datetime) -> None:
        self.conn = conn
        self.forecasters = forecasters  # (handle, account id) in handle order
        # index CROWD (-1) picks the last entry: the crowd's
        self._handles = [handle for handle, _ in forecasters] + [CROWD_HANDLE]
        self._accounts: list[int | None] = [account for _, account in forecasters] + [None]
        dialect = conn.dialect
        self._convert = scores_t.c.resolves_at.type.dialect_impl(dialect).bind_processor(dialect)
        self._now = self._stored(now)
        self._mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # the rows inserted with `keep`, as arrays: who, and the fields the totals sum
        self._kept: list[tuple[npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]] = []

    def replace_totals(self) -> int:
        """Replace every total with sums of the rows inserted with `keep`, in their order."""
        who = np.concatenate([w for w, _ in self._kept]) if self._kept else np.zeros(0, np.int64)
        scores = {
            name: np.concatenate([f[i] for _, f in self._kept]) if self._kept else np.zeros(0)
            for i, name in enumerate(_TOTALS_FIELDS)
        }
        forecasters = list(zip(self._handles, self._accounts, strict=True))
        return replace_totals(self.conn, forecasters, who % len(forecasters), scores)

    def _stored(self, moment: datetime) -> Any:
        return moment if self._convert is None else self._convert(moment)

    def mappings(self, columns: ScoreColumns) -> list[dict[str, Any]]:
        """The rows as the totals need them."""
        return [
            {
                "handle": self._handles[f],
                "account_id": self._accounts[f],
                "brier": brier,
                "time_averaged_brier": average,
                "coverage": coverage,
                "peer_score": peer,
                "baseline_score": baseline,
                "market_points": market,
            }
            for f, brier, average, coverage, peer, baseline, market in zip(
                columns.forecaster,
                columns.brier,
                columns.time_averaged_brier,
                columns.coverage,
                columns.peer_score,
                columns.baseline_score,
                columns.market_points,
                strict=True,
            )
        ]

    def insert(
        self, windows: Sequence["ClaimWindow"], columns: ScoreColumns, *, keep: bool = False
    ) -> None:
        """Insert the rows (claims by their position in `windows`); `keep` them for the totals."""
        if keep:  # CROWD (-1) becomes the last forecaster, the crowd's entry
            fields = [_probabilities(getattr(columns, name)) for name in _TOTALS_FIELDS]
            self._kept.append((np.array(columns.forecaster, dtype=np.int64), fields))
        if not len(columns):
            return
        claim_ids = [w.id for w in windows]
        outcomes = [w.outcome for w in windows]
        resolves = [self._stored(w.resolves_at) for w in windows]
        rows = zip(
            [claim_ids[c] for c in columns.claim],
            [self._accounts[f] for f in columns.forecaster],
            [self._handles[f] for f in columns.forecaster],
            columns.brier,
            columns.time_averaged_brier,
            columns.coverage,
            columns.log_score,
            columns.baseline_score,
            columns.peer_score,
            columns.market_points,
            columns.probability_at_close,
            [outcomes[c] for c in columns.claim],
            [resolves[c] for c in columns.claim],
            repeat(self._now),
            strict=False,  # repeat is endless
        )
        values = list(chain.from_iterable(rows))
        width = len(_COLUMNS)
        whole = len(columns) // _ROWS_PER_INSERT * _ROWS_PER_INSERT * width
        step = _ROWS_PER_INSERT * width
        if whole:
            batches = [tuple(values[i : i + step]) for i in range(0, whole, step)]
            self.conn.exec_driver_sql(self._sql(_ROWS_PER_INSERT), batches)
        if whole < len(values):
            self.conn.exec_driver_sql(
                self._sql(len(columns) % _ROWS_PER_INSERT), tuple(values[whole:])
            )

    def _sql(self, rows: int) -> str:
        row = f"({', '.join([self._mark] * len(_COLUMNS))})"
        return f"INSERT INTO {scores_t.name} ({', '.join(_COLUMNS)}) VALUES " + ", ".join(
            [row] * rows
        )


def _scores_of(claim_id: int) -> Any:
    """The claim's Score rows, as much of them as the totals need (no type processing)."""
    return text(
        "SELECT handle, account_id, brier, time_averaged_brier, coverage, peer_score, "
        "baseline_score, market_points FROM scores WHERE claim_id = :claim"
    ).bindparams(claim=claim_id)


def _batch(
    windows: Sequence["ClaimWindow"],
    sizes: Sequence[int],
    forecaster: Sequence[int] | npt.NDArray[np.int64],
    at: Sequence[Any] | npt.NDArray[np.int64],
    seq: Sequence[int] | npt.NDArray[np.int64],
    probability: Sequence[float | None] | npt.NDArray[np.float64],
) -> ClaimBatch:
    """A ClaimBatch from the claims and their events (grouped by claim, `sizes` each)."""
    return ClaimBatch(
        opens_at=np.array([micros(w.opens_at) for w in windows], dtype=np.int64),
        closes_at=np.array([micros(w.closes_at) for w in windows], dtype=np.int64),
        closed_at=np.array([micros(w.closed_at) for w in windows], dtype=np.int64),
        outcome=np.array([w.outcome for w in windows], dtype=np.int64),
        bounds=np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))),
        forecaster=np.asarray(forecaster, dtype=np.int64),
        at=at if isinstance(at, np.ndarray) else _micros_of(at),
        seq=np.asarray(seq, dtype=np.int64),
        probability=probability
        if isinstance(probability, np.ndarray)
        else _probabilities(probability),
    )


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
    with _without_cyclic_gc(), _scorers(workers) as pool:
        conn = session.connection()
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # rewriting every index of a million rows thrashes the 2 MB page cache
            cache_size = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
            conn.exec_driver_sql(f"PRAGMA cache_size = -{_REBUILD_CACHE_KIB}")
        windows = _resolved_windows(conn)
        accounts = conn.execute(select(accounts_t.c.handle, accounts_t.c.id)).all()
        writer = _RowWriter(conn, sorted((str(h), int(a)) for h, a in accounts), now)
        conn.execute(delete(scores_t))
        # SQLite: building an index afterwards beats a million inserts at random places in it
        indexes = _drop_indexes(conn) if sqlite else []
        batch = _read_batch(conn, windows, writer.forecasters)
        written = done = 0
        for start, columns in _score_parts(batch, chunk, pool, workers):
            part = windows[start : start + chunk]
            writer.insert(part, columns, keep=True)
            written += len(columns)
            done += len(part)
            if progress is not None:
                progress(done, len(windows))
        for sql in indexes:
            conn.exec_driver_sql(sql)
        handles = writer.replace_totals()
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA cache_size = {cache_size}")
        session.commit()
    return RescoreReport(claims=len(windows), rows=written, handles=handles)


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
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for _ in range(workers):
            pool.submit(int)  # spawns the processes now, not at the first chunk
        yield pool


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


def _read_batch(
    conn: Connection, windows: list["ClaimWindow"], forecasters: list[tuple[str, int]]
) -> ClaimBatch:
    """Every event of the resolved claims, in one scan of the forecasts, grouped by claim.

    One sequential scan through the driver's cursor is several times faster than fetching
    claim by claim through the (claim, seq) index, and numbers go straight into arrays.
    """
    ids = np.array([w.id for w in windows], dtype=np.int64)
    rank = {account: i for i, (_, account) in enumerate(forecasters)}
    cursor = conn.connection.cursor()
    cursor.execute(
        "SELECT claim_id, account_id, created_at, ledger_seq, probability FROM forecasts"
    )
    parts: list[list[Any]] = []
    while rows := cursor.fetchmany(100_000):
        claim, account, at, seq, probability = zip(*rows, strict=True)
        position = np.searchsorted(ids, np.array(claim, dtype=np.int64))
        kept = np.flatnonzero(ids[np.minimum(position, len(ids) - 1)] == claim)
        parts.append(
            [
                position[kept],
                np.array([rank[a] for a in account], dtype=np.int64)[kept],
                _micros_of(at)[kept],
                np.array(seq, dtype=np.int64)[kept],
                _probabilities(probability)[kept],
            ]
        )
    cursor.close()
    if not parts or not len(ids):
        return _batch(windows, [0] * len(windows), [], [], [], [])
    claim_of, forecaster, at_us, seq_no, probability_of = map(
        np.concatenate, zip(*parts, strict=True)
    )
    order = np.argsort(claim_of, kind="stable")
    return _batch(
        windows,
        np.bincount(claim_of, minlength=len(windows)).tolist(),
        forecaster[order],
        at_us[order],
        seq_no[order],
        probability_of[order],
    )


def _score_parts(
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
    c = claims_t.c
    rows = conn.execute(
        select(c.id, c.opens_at, c.closes_at, c.closed_early_at, c.resolves_at, c.outcome).where(
            c.state == RESOLVED, c.outcome.in_(list(OUTCOME_VALUE))
        )
    ).all()
    return [
        ClaimWindow(
            id=int(r.id),
            opens_at=r.opens_at,
            closes_at=r.closes_at,
            closed_at=r.closes_at
            if r.closed_early_at is None or r.closed_early_at >= r.closes_at
            else r.closed_early_at,
            resolves_at=r.resolves_at,
            outcome=OUTCOME_VALUE[r.outcome],
        )
        for r in sorted(rows, key=lambda r: int(r.id))
    ]


def _moment(value: Any) -> datetime:
    """A stored time as aware UTC: SQLite gives back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return as_utc(value)
