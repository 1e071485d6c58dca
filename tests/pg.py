"""Throwaway PostgreSQL databases for tests: create (optionally from a template) and drop."""

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _admin(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def create_database(server_url: str, name: str, *, template: str | None = None) -> None:
    clause = f" TEMPLATE {template}" if template else ""
    _admin(server_url, f"CREATE DATABASE {name}{clause}")


def drop_database(server_url: str, name: str) -> None:
    _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
