"""Plain SQL for the group commit's statements, the hottest SQL in the project.

SQLAlchemy Core spends tens of microseconds per row turning parameter dictionaries into
driver values, and rebuilds IN lists on every batch. These statements are written once per
dialect (SQLite and PostgreSQL share the syntax: `INSERT … ON CONFLICT … DO UPDATE`), take
positional values already converted the way the tables' column types convert them, and go
to the driver through `Connection.exec_driver_sql`, inside the caller's transaction. Table and
column names come from the models, so a renamed column breaks loudly here, at import.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

from claims.outcome_space import SHAPE_FIELDS, Space
from claims.states import ClaimKind
from forecasts.ledger.driver import MultiRowInsert, marks, param_mark, stored_time, time_binder
from forecasts.ledger.tables import claims_t as _claims
from forecasts.ledger.tables import entries_t as _entries
from forecasts.ledger.tables import forecasts_t as _forecasts
from forecasts.ledger.tables import head_t as _head
from forecasts.ledger.tables import salts_t as _salts
from forecasts.ledger.tables import standings_t as _standings
from forecasts.ledger.tables import stats_t as _stats
from forecasts.ledger.tables import tokens_t as _tokens

# The order of the value tuples forecasts.submit.service builds.
ENTRY_COLUMNS = (
    "seq",
    "kind",
    "created_at",
    "payload_hash",
    "prev_hash",
    "hash",
    "payload",
    "claim_id",
    "payload_version",
)
FORECAST_COLUMNS = (
    "id",
    "claim_id",
    "account_id",
    "probability",
    "rationale",
    "created_at",
    "ledger_seq",
    "imported",
    "distribution",
    "quantiles",
)
STANDING_COLUMNS = (
    "claim_id",
    "account_id",
    "forecast_id",
    "probability",
    "distribution",
    "at",
    "ledger_seq",
)
STATS_COLUMNS = ("claim_id", "market", "market_distribution", "forecasters", "last_seq")
# A claim's kind and its fields, as `ClaimRow.space` and `Space` name them.
_SPACE_COLUMNS = ("kind", *SHAPE_FIELDS)


# SQLite before 3.32 took at most 999 bound values per statement.
MAX_VALUES = 999


@dataclass(frozen=True)
class Rows(MultiRowInsert):
    """A multi-row INSERT (an upsert with a suffix), up to MAX_VALUES values a statement.
    Row by row (`executemany`), SQLite gives up and takes back Python's GIL at every row,
    and every take-back may wait for the event loop's thread to let go of it."""

    # PostgreSQL: INSERT INTO t (a, b) SELECT * FROM unnest(%s::integer[], %s::text[]) …,
    # one array per column, so the text is the same whatever the number of rows
    arrays: str

    def write(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        step = max(1, MAX_VALUES // self.width)
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            values = [value for row in chunk for value in row]
            conn.exec_driver_sql(self.statement(len(chunk)), tuple(values))


@dataclass(frozen=True)
class ClaimRow:
    id: int
    state: str
    opens_at: datetime
    closes_at: datetime
    closed_early_at: datetime | None
    market: float | None  # from claim_stats; None and 0 when it has no row yet
    forecasters: int
    kind: str = ClaimKind.BINARY
    space: Space = field(default_factory=Space)
    market_distribution: bytes | None = None


class BatchSQL:
    """The statements for one dialect; `for_connection` gives the shared instance."""

    def __init__(self, dialect: Dialect) -> None:
        self.mark = param_mark(dialect)
        self.q: Callable[[str], str] = dialect.identifier_preparer.quote
        self.dialect = dialect
        self.is_sqlite = dialect.name == "sqlite"
        self.one_statement = dialect.name == "postgresql"
        self.to_db = time_binder(dialect)
        self.insert_entries = self._insert(_entries, ENTRY_COLUMNS)
        self.insert_forecasts = self._insert(_forecasts, FORECAST_COLUMNS)
        self.insert_salts = self._insert(_salts, ("ledger_seq", "salt"))
        self.upsert_standings = self._upsert(_standings, STANDING_COLUMNS, 2)
        self.upsert_stats = self._upsert(_stats, STATS_COLUMNS, 1)
        m = self.mark
        self.move_head = f"UPDATE {_head.name} SET seq = {m}, hash = {m} WHERE id = 1"

    @staticmethod
    def for_connection(conn: Connection) -> "BatchSQL":
        return _for_dialect(conn.dialect)

    def from_db(self, value: Any) -> datetime | None:
        return None if value is None else stored_time(value)

    def to_json(self, value: Any) -> str | None:
        """A JSON column's value as the driver takes it (text, cast on PostgreSQL)."""
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def marks(self, count: int) -> str:
        return marks(self.mark, count)

    def _insert(self, table: Table, columns: Sequence[str], tail: str = "") -> Rows:
        names, head, group = MultiRowInsert.parts(self.dialect, table, columns)
        types = [table.c[c].type.compile(dialect=self.dialect) for c in columns]
        # psycopg's binary placeholder: lists go over as binary arrays, no text quoting
        array_mark = "%b" if self.mark == "%s" else self.mark
        unnest = ", ".join(f"{array_mark}::{kind}[]" for kind in types)
        arrays = f"INSERT INTO {self.q(table.name)} ({names}) SELECT * FROM unnest({unnest}){tail}"
        return Rows(head, group, tail, len(columns), arrays)

    def _upsert(self, table: Table, columns: Sequence[str], keys: int) -> Rows:
        changed = ", ".join(f"{self.q(c)} = excluded.{self.q(c)}" for c in columns[keys:])
        conflict = ", ".join(self.q(c) for c in columns[:keys])
        return self._insert(table, columns, f" ON CONFLICT ({conflict}) DO UPDATE SET {changed}")

    def read(
        self, conn: Connection, slugs: Sequence[str], accounts: Sequence[int]
    ) -> tuple[dict[str, ClaimRow], dict[tuple[int, int], float | None]]:
        """Each claim's window, state and stats by slug, and the accounts' standings on them
        by (claim id, account id) (None: withdrawn), in one statement."""
        c, s, st = _claims.name, _stats.name, _standings.name
        space = ", ".join(f"{c}.{self.q(name)}" for name in _SPACE_COLUMNS)
        sql = (
            f"SELECT {c}.slug, {c}.id, {c}.state, {c}.opens_at, {c}.closes_at, "
            f"{c}.closed_early_at, {s}.market, {s}.forecasters, {st}.account_id, "
            f"{st}.probability IS NOT NULL OR {st}.distribution IS NOT NULL, "
            f"{s}.market_distribution, {space} "
            f"FROM {c} LEFT JOIN {s} ON {s}.claim_id = {c}.id "
            f"LEFT JOIN {st} ON {st}.claim_id = {c}.id "
            f"AND {st}.account_id IN ({self.marks(len(accounts))}) "
            f"WHERE {c}.slug IN ({self.marks(len(slugs))})"
        )
        claims: dict[str, ClaimRow] = {}
        standing: dict[tuple[int, int], float | None] = {}
        for row in conn.exec_driver_sql(sql, (*accounts, *slugs)):
            slug, claim_id = row[0], row[1]
            if slug not in claims:
                opens_at, closes_at, early = (self.from_db(value) for value in row[3:6])
                assert opens_at is not None and closes_at is not None
                claims[slug] = ClaimRow(
                    claim_id, row[2], opens_at, closes_at, early, row[6], row[7] or 0, *_space(row)
                )
            if row[8] is not None:
                standing[(claim_id, row[8])] = 1.0 if row[9] else None
        return claims, standing

    def write(
        self,
        conn: Connection,
        head: tuple[int, str],
        tables: Sequence[tuple[Rows, Sequence[tuple[Any, ...]]]],
    ) -> None:
        """Insert (or upsert) each table's rows and move the ledger head to (seq, hash).

        On PostgreSQL that is one statement of constant text (data-modifying WITH clauses,
        one array per column): one round trip while this transaction holds the head's row
        lock, which every other process's appends are waiting for, and a statement the
        driver parses once and the server prepares once. (Spelled out as VALUES lists, the
        text grew with the batch, and psycopg re-parsed its placeholders every time: about
        4 ms per batch, all of it under the lock.) SQLite has no such clauses and no round
        trips to save: one multi-row statement per table.
        """
        if self.one_statement:
            clauses, params = [], []
            for k, (table, rows) in enumerate(tables):
                clauses.append(f"w{k} AS ({table.arrays})")
                columns = [list(column) for column in zip(*rows, strict=True)]
                params += columns or [[] for _ in range(table.width)]
            sql = f"WITH {', '.join(clauses)} {self.move_head}"
            conn.exec_driver_sql(sql, (*params, *head))
            return
        for table, rows in tables:
            table.write(conn, rows)
        conn.exec_driver_sql(self.move_head, head)

    def lock_head(
        self, conn: Connection, hashes: Sequence[str]
    ) -> tuple[tuple[int, str] | None, dict[str, int]]:
        """Lock the ledger's head and read it, with the account id of each live token among
        `hashes`, in one statement (one round trip fewer on PostgreSQL). The tokens come
        from the statement's snapshot, which may predate the lock: revoking a token takes
        no lock, so reading it later would not be any more current. None: no head row.

        On SQLite the transaction began with BEGIN IMMEDIATE, which holds the write lock.
        """
        h, t = _head.name, _tokens.name
        tokens = f"{t}.token_hash IN ({self.marks(len(hashes))})" if hashes else "1 = 0"
        sql = (
            f"SELECT {h}.seq, {h}.hash, {t}.token_hash, {t}.account_id FROM {h} "
            f"LEFT JOIN {t} ON {t}.revoked_at IS NULL AND {tokens} WHERE {h}.id = 1"
        )
        if not self.is_sqlite:
            sql += f" FOR UPDATE OF {h}"
        head: tuple[int, str] | None = None
        live: dict[str, int] = {}
        for row in conn.exec_driver_sql(sql, tuple(hashes)):
            head = (int(row[0]), str(row[1]))
            if row[2] is not None:
                live[row[2]] = row[3]
        return head, live


def _space(row: Any) -> tuple[str, Space, bytes | None]:
    """The kind, its fields and the market distribution of a `read` row."""
    if row[11] == ClaimKind.BINARY:
        return ClaimKind.BINARY, Space(), None
    options = json.loads(row[12]) if isinstance(row[12], str) else row[12]
    lower, upper, log = (bool(value) for value in row[15:18])
    space = Space(options, row[13], row[14], lower, upper, log)
    return row[11], space, None if row[10] is None else bytes(row[10])


@cache
def _for_dialect(dialect: Dialect) -> BatchSQL:
    return BatchSQL(dialect)
