"""claims that are numbers, dates or choices (SPEC §7)

Revision ID: 0012_claim_kinds
Revises: 0011_evidence_public_address

Every existing claim becomes `binary` (the server default). Distributions are packed
float64 values in one column per forecast (`forecasts.ledger.packing`), not one row per
value. Outcome columns widen to a label's 80 code points; on SQLite a VARCHAR's length is not
enforced, so only PostgreSQL alters them (a batch rebuild on SQLite would be needless).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_claim_kinds"
down_revision = "0011_evidence_public_address"
branch_labels = None
depends_on = None


def _claim_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("kind", sa.String(20), nullable=False, server_default="binary"),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("range_min", sa.Float(), nullable=True),
        sa.Column("range_max", sa.Float(), nullable=True),
        sa.Column("open_lower_bound", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("open_upper_bound", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("log_scale", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("unit", sa.String(40), nullable=False, server_default=""),
        sa.Column("outcome_value", sa.Float(), nullable=True),
    ]


# (table, column, old width): widened to a label's 80 code points
_WIDENED = (
    ("claims", "outcome", 10),
    ("rule_runs", "last_outcome", 10),
    ("proposals", "outcome", 3),
    ("evidence_snapshots", "decision", 3),
)


def upgrade() -> None:
    for column in _claim_columns():
        op.add_column("claims", column)
    op.add_column("proposals", sa.Column("outcome_value", sa.Float(), nullable=True))
    # ADD COLUMN only: a table rebuild on SQLite would drop the append-only triggers
    op.add_column("forecasts", sa.Column("distribution", sa.LargeBinary(), nullable=True))
    op.add_column("forecasts", sa.Column("quantiles", sa.JSON(), nullable=True))
    op.add_column("standings", sa.Column("distribution", sa.LargeBinary(), nullable=True))
    op.add_column(
        "claim_stats", sa.Column("market_distribution", sa.LargeBinary(), nullable=True)
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, column, old in _WIDENED:
            op.alter_column(table, column, type_=sa.String(80), existing_type=sa.String(old))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, old in _WIDENED:
            op.alter_column(table, column, type_=sa.String(old), existing_type=sa.String(80))
    op.drop_column("claim_stats", "market_distribution")
    op.drop_column("standings", "distribution")
    op.drop_column("forecasts", "quantiles")
    op.drop_column("forecasts", "distribution")
    op.drop_column("proposals", "outcome_value")
    for column in reversed(_claim_columns()):
        op.drop_column("claims", column.name)
