"""SQL sent straight to the driver, past SQLAlchemy's compiler (the write paths that must be
fast): the parameter marker each driver takes, multi-row INSERTs, and stored times converted
the way the UTCDateTime column converts them."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Dialect, Table

from claims.clock import as_utc
from claims.columns import UTCDateTime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def param_mark(dialect: Dialect) -> str:
    """`?` for sqlite3, `%s` for psycopg."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def mark_of(conn: Connection) -> str:
    """The parameter marker of this connection's driver."""
    return param_mark(conn.dialect)


def marks(mark: str, count: int) -> str:
    """`count` markers, comma-separated: one row of values, or an IN list."""
    return ", ".join([mark] * count)


@dataclass(frozen=True)
class MultiRowInsert:
    """`INSERT INTO t (a, b) VALUES (?, ?), (?, ?)…` for any number of rows: one statement,
    hence one step in the driver, for many rows."""

    head: str  # INSERT INTO t (a, b) VALUES
    group: str  # (?, ?)
    tail: str  # ON CONFLICT … or nothing
    width: int

    @staticmethod
    def parts(dialect: Dialect, table: Table, columns: Sequence[str]) -> tuple[str, str, str]:
        """The quoted column names, head and group of an INSERT of `columns` into `table`;
        a column the table lacks breaks loudly here."""
        missing = [c for c in columns if c not in table.c]
        if missing:
            raise RuntimeError(f"{table.name} has no column(s) {missing}")
        q = dialect.identifier_preparer.quote
        names = ", ".join(q(c) for c in columns)
        group = f"({marks(param_mark(dialect), len(columns))})"
        return names, f"INSERT INTO {q(table.name)} ({names}) VALUES", group

    @classmethod
    def of(cls, dialect: Dialect, table: Table, columns: Sequence[str]) -> "MultiRowInsert":
        _, head, group = cls.parts(dialect, table, columns)
        return cls(head, group, "", len(columns))

    def statement(self, count: int) -> str:
        return f"{self.head} {', '.join([self.group] * count)}{self.tail}"


def time_binder(dialect: Dialect) -> Callable[[datetime], Any]:
    """An aware time as the driver takes it for a UTCDateTime column (naive UTC text on
    SQLite), so raw SQL stores the usual format."""
    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    return bind or (lambda value: value)


def stored_time(value: Any) -> datetime:
    """A stored time as aware UTC: SQLite gives back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return as_utc(value)


def micros(moment: datetime) -> int:
    """An aware time as integer microseconds since the epoch (exact, unlike a float)."""
    return (as_utc(moment) - _EPOCH) // _MICROSECOND


def micros_of(values: Sequence[Any]) -> npt.NDArray[np.int64]:
    """Stored times as microseconds: SQLite gives back naive UTC text, PostgreSQL datetimes."""
    if values and isinstance(values[0], str):
        return np.array(values, dtype="datetime64[us]").astype(np.int64)
    return np.array([micros(value) for value in values], dtype=np.int64)
