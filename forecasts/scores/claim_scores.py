"""Score rows of resolved claims, derived from the record, and the writer of those rows.

Scores are derived data (SPEC §3): every row here can be rebuilt from the claims and the
forecasts, which is what `forecasts.scores.rescore.rescore_all` does for all of them. Replacing a
claim's rows also moves the per-forecaster totals (forecasts.scores.totals) in the same transaction.
"""

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text
from sqlmodel import Session

from claims.models import Claim
from forecasts.ledger.driver import (
    MultiRowInsert,
    mark_of,
    stored_time,
    time_binder,
)
from forecasts.ledger.tables import scores_t
from forecasts.score_math.batch_scoring import ScoreColumns, score_batch
from forecasts.score_math.scoring import CROWD_HANDLE, SCORE_FIELDS, ScoringEvent
from forecasts.scores.claim_windows import (
    KIND_COLUMNS,
    ClaimWindow,
    claim_batch,
    is_scored,
    probabilities_of,
)
from forecasts.scores.totals import TotalsRow, apply_changes, replace_totals

_ROWS_PER_INSERT = 500  # rows per multi-row INSERT: 7,000 parameters, under every limit
_TOTALS_FIELDS = (
    "brier",
    "time_averaged_brier",
    "market_points",
    "peer_score",
    "coverage",
    "baseline_score",
    "crps",
)


def claim_events(conn: Connection, claim_id: int) -> tuple[list[ScoringEvent], dict[str, int]]:
    """Every forecast and withdrawal on the claim (imported ones too), and the handles' ids."""
    rows = conn.execute(text(_EVENTS.format(mark=":claim")).bindparams(claim=claim_id)).all()
    events = [ScoringEvent(handle, stored_time(at), seq, p) for _, handle, at, seq, p, _ in rows]
    return events, {row[1]: row[0] for row in rows}


_EVENTS = (
    "SELECT f.account_id, a.handle, f.created_at, f.ledger_seq, f.probability, f.distribution "
    "FROM forecasts f JOIN accounts a ON a.id = f.account_id WHERE f.claim_id = {mark}"
)
# A claim's Score rows as the totals need them (`TotalsRow`), after their ids, in id order.
_OLD_ROWS = (
    "SELECT id, handle, account_id, brier, time_averaged_brier, coverage, peer_score, "
    f"baseline_score, market_points, crps FROM {scores_t.name} WHERE claim_id = {{mark}} "
    "ORDER BY id"
)


def replace_claim_scores(session: Session, claim: Claim, *, now: datetime) -> int:
    """Replace the claim's Score rows with those of its record (none unless it is resolved);
    moves the totals.

    Runs inside the caller's transaction (it does not commit). Returns the rows written.
    Rows are rewritten in place when the same forecasters are scored again (a re-resolution):
    the indexes then stay as they were, which is most of what such a commit writes.
    """
    assert claim.id is not None
    conn = session.connection()
    mark = mark_of(conn)
    old = conn.exec_driver_sql(_OLD_ROWS.format(mark=mark), (claim.id,)).all()
    removed: list[TotalsRow] = [tuple(row[1:]) for row in old]
    added: list[TotalsRow] = []
    if is_scored(claim.state, {name: getattr(claim, name) for name in KIND_COLUMNS}):
        window = ClaimWindow.of(claim)
        rows = conn.exec_driver_sql(_EVENTS.format(mark=mark), (claim.id,)).all()
        accounts, handles, at, seq, probability, packed = (
            zip(*rows, strict=True) if rows else ([],) * 6
        )
        writer = ScoreWriter(conn, sorted(dict(zip(handles, accounts, strict=True)).items()), now)
        ranks = {handle: rank for rank, (handle, _) in enumerate(writer.forecasters)}
        batch = claim_batch(
            [window], [len(rows)], [ranks[h] for h in handles], at, seq, probability, packed
        )
        columns = score_batch(batch)
        added = writer.totals_rows(columns)
        if removed and [row[:2] for row in added] == [row[:2] for row in removed]:
            writer.update([row[0] for row in old], [window], columns)
        else:
            if old:
                _delete_scores(conn, claim.id)
            writer.insert([window], columns)
    elif old:
        _delete_scores(conn, claim.id)
    apply_changes(conn, removed, added)
    return len(added)


def _delete_scores(conn: Connection, claim_id: int) -> None:
    conn.exec_driver_sql(
        f"DELETE FROM {scores_t.name} WHERE claim_id = {mark_of(conn)}", (claim_id,)
    )


_COLUMNS = (
    "claim_id",
    "account_id",
    "handle",
    *SCORE_FIELDS,
    "probability_at_close",
    "pit",
    "outcome",
    "resolves_at",
    "scored_at",
)
_KEYS = 3  # the columns that say whose row it is; the rest are the scores


class ScoreWriter:
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
        self._stored = time_binder(conn.dialect)
        self._now = self._stored(now)
        self._insert = MultiRowInsert.of(conn.dialect, scores_t, _COLUMNS)
        self._mark = mark_of(conn)
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

    def totals_rows(self, columns: ScoreColumns) -> list[TotalsRow]:
        """The rows as the totals need them."""
        return list(
            zip(
                [self._handles[f] for f in columns.forecaster],
                [self._accounts[f] for f in columns.forecaster],
                columns.brier,
                columns.time_averaged_brier,
                columns.coverage,
                columns.peer_score,
                columns.baseline_score,
                columns.market_points,
                columns.crps,
                strict=True,
            )
        )

    def insert(
        self, windows: Sequence["ClaimWindow"], columns: ScoreColumns, *, keep: bool = False
    ) -> None:
        """Insert the rows (claims by their position in `windows`); `keep` them for the totals."""
        if keep:  # CROWD (-1) becomes the last forecaster, the crowd's entry
            fields = [probabilities_of(getattr(columns, name)) for name in _TOTALS_FIELDS]
            self._kept.append((np.array(columns.forecaster, dtype=np.int64), fields))
        if not len(columns):
            return
        values = self._values(windows, columns)
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

    def update(
        self, ids: Sequence[int], windows: Sequence["ClaimWindow"], columns: ScoreColumns
    ) -> None:
        """Rewrite the scores of existing rows (`ids`, one per row of `columns`, same order)."""
        scores = ", ".join(f"{name} = {self._mark}" for name in _COLUMNS[_KEYS:])
        sql = f"UPDATE {scores_t.name} SET {scores} WHERE id = {self._mark}"
        values, width = self._values(windows, columns), len(_COLUMNS)
        params = [
            (*values[start + _KEYS : start + width], id_)
            for start, id_ in zip(range(0, len(values), width), ids, strict=True)
        ]
        self.conn.exec_driver_sql(sql, params)

    def _values(self, windows: Sequence["ClaimWindow"], columns: ScoreColumns) -> list[Any]:
        """The rows' values one row after another, each in `_COLUMNS` order.

        Filled a column at a time by strided assignment: tuples per row, flattened, cost
        several times more at a million rows.
        """
        claims, forecasters = columns.claim, columns.forecaster
        width = len(_COLUMNS)
        values: list[Any] = [None] * (len(columns) * width)
        for i, column in enumerate(
            (
                _pick([w.id for w in windows], claims),
                _pick(self._accounts, forecasters),
                _pick(self._handles, forecasters),
                *(getattr(columns, name) for name in SCORE_FIELDS),
                columns.probability_at_close,
                columns.pit,
                _pick([w.outcome for w in windows], claims),
                _pick([self._stored(w.resolves_at) for w in windows], claims),
                [self._now] * len(columns),
            )
        ):
            values[i::width] = column
        return values

    def _sql(self, rows: int) -> str:
        return self._insert.statement(rows)


def _pick(items: Sequence[Any], positions: Sequence[int]) -> Sequence[Any]:
    """items[p] for each p in positions (in C: a million of them is a list comprehension's
    whole cost)."""
    if len(positions) <= 1:
        return [items[p] for p in positions]
    picked: tuple[Any, ...] = itemgetter(*positions)(items)
    return picked
