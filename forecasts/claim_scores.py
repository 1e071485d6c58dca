"""Score rows of resolved claims, derived from the record: for one claim, or for all of them.

Scores are derived data (SPEC §3): every row here can be rebuilt from the claims and the
forecasts, which is what `rescore_all` does. Replacing a claim's rows also moves the
per-forecaster totals (forecasts.totals) in the same transaction.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
_INSERT_BATCH = 20_000


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
    f = forecasts_t.c
    rows = conn.execute(
        select(f.account_id, accounts_t.c.handle, f.created_at, f.ledger_seq, f.probability)
        .join(accounts_t, accounts_t.c.id == f.account_id)
        .where(f.claim_id == claim_id)
        .order_by(f.created_at, f.ledger_seq)
    ).all()
    events = [ScoringEvent(r.handle, r.created_at, r.ledger_seq, r.probability) for r in rows]
    return events, {r.handle: r.account_id for r in rows}


def replace_claim_scores(session: Session, claim: Claim, *, now: datetime) -> int:
    """Delete the claim's Score rows and, if it is resolved, write them afresh; moves the totals.

    Runs inside the caller's transaction (it does not commit). Returns the rows written.
    """
    assert claim.id is not None
    conn = session.connection()
    old = [dict(row._mapping) for row in conn.execute(_score_columns(claims=[claim.id]))]
    conn.execute(delete(scores_t).where(scores_t.c.claim_id == claim.id))
    new: list[dict[str, Any]] = []
    if claim.state == RESOLVED and claim.outcome in OUTCOME_VALUE:
        events, account_of = claim_events(conn, claim.id)
        new = score_rows(ClaimWindow.of(claim), events, account_of, now=now)
        if new:
            conn.execute(scores_t.insert(), new)
    apply_changes(conn, old, new)
    return len(new)


def _score_columns(*, claims: list[int]) -> Any:
    s = scores_t.c
    columns = [
        s.handle,
        s.account_id,
        s.brier,
        s.time_averaged_brier,
        s.coverage,
        s.peer_score,
        s.baseline_score,
        s.market_points,
    ]
    return select(*columns).where(s.claim_id.in_(claims))


@dataclass(frozen=True)
class RescoreReport:
    claims: int
    rows: int
    handles: int


Progress = Callable[[int, int], None]


def rescore_all(
    session: Session, *, now: datetime, progress: Progress | None = None, chunk: int = 500
) -> RescoreReport:
    """Rebuild every Score row and every total from the record, in one transaction; commits.

    `progress(done, total)` is called after each chunk of claims.
    """
    conn = session.connection()
    windows = _resolved_windows(conn)
    handle_of = {int(r.id): str(r.handle) for r in conn.execute(select(accounts_t))}
    conn.execute(delete(scores_t))
    account_of = {handle: account for account, handle in handle_of.items()}
    written = 0
    pending: list[dict[str, Any]] = []
    for done, (window, events) in enumerate(_events_by_claim(conn, windows, handle_of, chunk), 1):
        pending.extend(score_rows(window, events, account_of, now=now))
        if len(pending) >= _INSERT_BATCH:
            conn.execute(scores_t.insert(), pending)
            written += len(pending)
            pending = []
        if progress is not None and (done % chunk == 0 or done == len(windows)):
            progress(done, len(windows))
    if pending:
        conn.execute(scores_t.insert(), pending)
        written += len(pending)
    handles = rebuild_totals(conn)
    session.commit()
    return RescoreReport(claims=len(windows), rows=written, handles=handles)


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


def _events_by_claim(
    conn: Connection, windows: list[ClaimWindow], handle_of: dict[int, str], chunk: int
) -> Iterator[tuple[ClaimWindow, list[ScoringEvent]]]:
    """Each claim's events, read a chunk of claims at a time without per-row type processing."""
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
        for window in part:
            yield window, grouped[window.id]


def _moment(value: Any) -> datetime:
    """A stored time as aware UTC: SQLite gives back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return as_utc(value)
