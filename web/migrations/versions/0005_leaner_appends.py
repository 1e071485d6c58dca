"""leaner appends: no unique index on ledger hashes, no forecasts-by-account index

Revision ID: 0005
Revises: 0004

Every appended entry and forecast paid for two indexes that nothing reads:
- UNIQUE(hash) on ledger_entries: a hash commits to its seq and its predecessor, `verify`
  recomputes every link, and no query looks an entry up by hash. Being random, each new hash
  lands on its own index page, so each append dirtied one more page per row.
- ix_forecasts_account_id: every query for someone's forecasts is within one claim and goes
  through ix_forecasts_claim_seq; accounts are never deleted (the foreign key needs no index).

SQLite cannot drop a table constraint in place: the table is rebuilt (web/migrate.py runs
migrations with foreign keys off and checks them before committing), and its append-only
triggers are created again.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import claims.columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = "seq, kind, created_at, payload_hash, prev_hash, hash, payload, claim_id"


def upgrade() -> None:
    op.drop_index("ix_forecasts_account_id", table_name="forecasts")
    if op.get_bind().dialect.name != "sqlite":
        unique = sa.inspect(op.get_bind()).get_unique_constraints("ledger_entries")
        for constraint in unique:
            if constraint["column_names"] == ["hash"] and constraint["name"]:
                op.drop_constraint(constraint["name"], "ledger_entries", type_="unique")
        return
    _rebuild_ledger_entries(unique_hash=False)


def downgrade() -> None:
    op.create_index("ix_forecasts_account_id", "forecasts", ["account_id"])
    if op.get_bind().dialect.name != "sqlite":
        op.create_unique_constraint(None, "ledger_entries", ["hash"])
        return
    _rebuild_ledger_entries(unique_hash=True)


def _rebuild_ledger_entries(*, unique_hash: bool) -> None:
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.PrimaryKeyConstraint("seq"),
    ]
    if unique_hash:
        constraints.append(sa.UniqueConstraint("hash"))
    op.create_table(
        "ledger_entries_rebuilt",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        *constraints,
    )
    op.execute(
        f"INSERT INTO ledger_entries_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM ledger_entries"
    )
    op.execute("DROP TABLE ledger_entries")  # its indexes and triggers go with it
    op.execute("ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries")
    op.create_index("ix_ledger_entries_claim_id", "ledger_entries", ["claim_id"])
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_entries_no_{action.lower()} BEFORE {action} ON ledger_entries "
            "BEGIN SELECT RAISE(ABORT, 'ledger_entries are append-only'); END"
        )
