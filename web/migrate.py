"""Bring the schema up to date (alembic `upgrade head`), safely from several processes."""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

_LOCK_ID = 0x466C6564  # PostgreSQL advisory lock key for migrations


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """`alembic upgrade head` (or to `revision`), serialised by an advisory lock on PostgreSQL.

    On SQLite, foreign keys are off while migrations run (they take effect only outside a
    transaction): rebuilding a table, SQLite's way of dropping a constraint, drops a table
    others refer to. They are checked before the migrations commit and turned on again.
    """
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """`alembic downgrade` to `revision`, under the same guards as `upgrade`."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
                before = MigrationContext.configure(conn).get_current_revision()
                config.attributes["connection"] = conn
                step(config, revision)
                after = MigrationContext.configure(conn).get_current_revision()
                if sqlite and before != after:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
