"""Alembic environment: the metadata of both domain packages, the URL from the caller."""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import claims.models  # noqa: F401  (registers tables)
import forecasts.ledger.models
import forecasts.notify.email.models
import forecasts.notify.models  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
