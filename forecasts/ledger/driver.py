"""SQL sent straight to the driver, past SQLAlchemy's compiler (the write paths that must be
fast): the parameter marker each driver takes, and a list of them."""

from sqlalchemy import Connection, Dialect


def param_mark(dialect: Dialect) -> str:
    """`?` for sqlite3, `%s` for psycopg."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def mark_of(conn: Connection) -> str:
    """The parameter marker of this connection's driver."""
    return param_mark(conn.dialect)


def marks(mark: str, count: int) -> str:
    """`count` markers, comma-separated: one row of values, or an IN list."""
    return ", ".join([mark] * count)
