"""scores of resolved claims

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import claims.columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("brier", sa.Float(), nullable=True),
        sa.Column("time_averaged_brier", sa.Float(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("log_score", sa.Float(), nullable=True),
        sa.Column("baseline_score", sa.Float(), nullable=True),
        sa.Column("peer_score", sa.Float(), nullable=True),
        sa.Column("market_points", sa.Float(), nullable=True),
        sa.Column("probability_at_close", sa.Float(), nullable=True),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("resolves_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scored_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "handle"),
    )
    op.create_index("ix_scores_claim_id", "scores", ["claim_id"])
    op.create_index("ix_scores_account_id", "scores", ["account_id"])
    op.create_index("ix_scores_handle", "scores", ["handle"])


def downgrade() -> None:
    op.drop_table("scores")
