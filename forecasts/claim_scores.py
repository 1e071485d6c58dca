"""Score rows of resolved claims, derived from the record: for one claim, or for all of them.

Scores are derived data (SPEC §3): every row here can be rebuilt from the claims and the
forecasts, which is what `rescore_all` does. Replacing a claim's rows also moves the
per-forecaster totals (forecasts.totals) in the same transaction.
"""

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, text
from sqlmodel import Session

from claims.clock import as_utc
from claims.lifecycle import effective_close
from claims.models import RESOLVED, Claim
from forecasts.crowd import crowd_probability
from forecasts.models import Account, Forecast, Score
from forecasts.scoring import CROWD_HANDLE, ScoringEvent, prepare_events, score_claim
from forecasts.totals import apply_changes, rebuild_totals

scores_t: Table = Score.__table__  # type: ignore[attr-defined]
forecasts_t: Table = Forecast.__table__  # type: ignore[attr-defined]
accounts_t: Table = Account.__table__  # type: ignore[attr-defined]
claims_t: Table = Claim.__table__  # type: ignore[attr-defined]

OUTCOME_VALUE = {"yes": 1, "no": 0}
_REBUILD_CACHE_KIB = 256 * 1024


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


def score_rows(
    window: ClaimWindow,
    events: Sequence[ScoringEvent],
    account_of: dict[str, int],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """The claim's Score rows (as table rows): each forecaster with coverage, then `@crowd`."""
    bounds = {"opens_at": window.opens_at, "closes_at": window.closes_at}
    rows = score_claim(events, closed_at=window.closed_at, outcome=window.outcome, **bounds)
    if not rows:
        return []
    at_close = _standing_at_close(events, window)
    return [
        {
            "claim_id": window.id,
            "account_id": account_of.get(row.handle),
            "handle": row.handle,
            "brier": row.brier,
            "time_averaged_brier": row.time_averaged_brier,
            "coverage": row.coverage,
            "log_score": row.log_score,
            "baseline_score": row.baseline_score,
            "peer_score": row.peer_score,
            "market_points": row.market_points,
            "probability_at_close": at_close.get(row.handle),
            "outcome": window.outcome,
            "resolves_at": window.resolves_at,
            "scored_at": now,
        }
        for row in rows
    ]


def _standing_at_close(events: Sequence[ScoringEvent], window: ClaimWindow) -> dict[str, float]:
    """Each forecaster's standing probability at Tc, and the crowd's (for calibration)."""
    ordered, _ = prepare_events(
        events,
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        closed_at=window.closed_at,
        outcome=window.outcome,
    )
    standing: dict[str, tuple[datetime, int, float]] = {}
    for event in ordered:
        standing.pop(event.handle, None)
        if event.probability is not None:
            standing[event.handle] = (event.at, event.seq, event.probability)
    result = {handle: entry[2] for handle, entry in standing.items()}
    crowd = crowd_probability(list(standing.values()))
    if crowd is not None:
        result[CROWD_HANDLE] = crowd
    return result


def claim_events(conn: Connection, claim_id: int) -> tuple[list[ScoringEvent], dict[str, int]]:
    """Every forecast and withdrawal on the claim (imported ones too), and the handles' ids."""
    rows = conn.execute(
        text(
            "SELECT f.account_id, a.handle, f.created_at, f.ledger_seq, f.probability "
            "FROM forecasts f JOIN accounts a ON a.id = f.account_id WHERE f.claim_id = :claim"
        ),
        {"claim": claim_id},
    ).all()
    events = [ScoringEvent(handle, _moment(at), seq, p) for _, handle, at, seq, p in rows]
    return events, {row[1]: row[0] for row in rows}


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
        events, account_of = claim_events(conn, claim.id)
        new = score_rows(ClaimWindow.of(claim), events, account_of, now=now)
        _write_scores(conn, new)
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


def _write_scores(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert Score rows straight through the driver (executemany of plain tuples).

    SQLAlchemy's per-row parameter processing costs more than the insert itself at a million
    rows; the two time columns are converted with the column type's own bind processor, once
    per distinct value (every row of a claim shares them).
    """
    if not rows:
        return
    dialect = conn.dialect
    time_type = scores_t.c.resolves_at.type
    convert = time_type.dialect_impl(dialect).bind_processor(dialect)
    stored: dict[datetime, Any] = {}

    def time_of(value: datetime) -> Any:
        if value not in stored:
            stored[value] = value if convert is None else convert(value)
        return stored[value]

    marks = ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * len(_COLUMNS))
    sql = f"INSERT INTO {scores_t.name} ({', '.join(_COLUMNS)}) VALUES ({marks})"
    conn.exec_driver_sql(
        sql,
        [
            (
                *(row[name] for name in _COLUMNS[:-2]),
                time_of(row["resolves_at"]),
                time_of(row["scored_at"]),
            )
            for row in rows
        ],
    )


def _scores_of(claim_id: int) -> Any:
    """The claim's Score rows, as much of them as the totals need (no type processing)."""
    return text(
        "SELECT handle, account_id, brier, time_averaged_brier, coverage, peer_score, "
        "baseline_score, market_points FROM scores WHERE claim_id = :claim"
    ).bindparams(claim=claim_id)


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

    Claims are read and scored a chunk at a time, by `workers` processes when above 1 (the
    scoring is CPU-bound and pure; reading and writing stay in this process). `progress(done,
    total)` is called after each chunk.
    """
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # rewriting every index of a million rows thrashes the default 2 MB page cache
        cache_size = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_REBUILD_CACHE_KIB}")
    windows = _resolved_windows(conn)
    handle_of = {int(r.id): str(r.handle) for r in conn.execute(select(accounts_t))}
    account_of = {handle: account for account, handle in handle_of.items()}
    conn.execute(delete(scores_t))
    written = done = 0
    chunks = _event_chunks(conn, windows, handle_of, chunk)
    for claims, rows in _score_chunks(chunks, account_of, now, workers):
        _write_scores(conn, rows)
        written += len(rows)
        done += claims
        if progress is not None:
            progress(done, len(windows))
    handles = rebuild_totals(conn)
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA cache_size = {cache_size}")
    session.commit()
    return RescoreReport(claims=len(windows), rows=written, handles=handles)


_Chunk = list[tuple[ClaimWindow, list[ScoringEvent]]]


def score_chunk(
    chunk: _Chunk, account_of: dict[str, int], now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """Score rows of a chunk of claims (a worker process's unit of work)."""
    rows: list[dict[str, Any]] = []
    for window, events in chunk:
        rows.extend(score_rows(window, events, account_of, now=now))
    return len(chunk), rows


def _score_chunks(
    chunks: Iterator[_Chunk], account_of: dict[str, int], now: datetime, workers: int
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Each chunk's rows in order; with workers, a few chunks ahead in other processes."""
    if workers <= 1:
        for chunk in chunks:
            yield score_chunk(chunk, account_of, now)
        return
    context = multiprocessing.get_context("spawn")  # no forked copies of open connections
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        ahead: deque[Future[tuple[int, list[dict[str, Any]]]]] = deque()
        for chunk in chunks:
            ahead.append(pool.submit(score_chunk, chunk, account_of, now))
            if len(ahead) > workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


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


def _event_chunks(
    conn: Connection, windows: list[ClaimWindow], handle_of: dict[int, str], chunk: int
) -> Iterator[_Chunk]:
    """The claims with their events, a chunk of claims per query, without type processing."""
    query = text(
        "SELECT claim_id, account_id, created_at, ledger_seq, probability FROM forecasts "
        "WHERE claim_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(windows), chunk):
        part = windows[start : start + chunk]
        grouped: dict[int, list[ScoringEvent]] = {w.id: [] for w in part}
        for claim_id, account_id, at, seq, probability in conn.execute(
            query, {"ids": [w.id for w in part]}
        ):
            grouped[claim_id].append(
                ScoringEvent(handle_of[account_id], _moment(at), seq, probability)
            )
        yield [(window, grouped[window.id]) for window in part]


def _moment(value: Any) -> datetime:
    """A stored time as aware UTC: SQLite gives back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return as_utc(value)
