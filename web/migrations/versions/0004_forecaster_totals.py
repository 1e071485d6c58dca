"""per-forecaster totals of the scores, for the leaderboard; fewer score indexes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecaster_totals",
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("claims_scored", sa.Integer(), nullable=False),
        sa.Column("brier_sum", sa.Float(), nullable=False),
        sa.Column("brier_count", sa.Integer(), nullable=False),
        sa.Column("mean_brier", sa.Float(), nullable=True),
        sa.Column("time_averaged_brier_sum", sa.Float(), nullable=False),
        sa.Column("time_averaged_brier_count", sa.Integer(), nullable=False),
        sa.Column("mean_time_averaged_brier", sa.Float(), nullable=True),
        sa.Column("peer_sum", sa.Float(), nullable=False),
        sa.Column("coverage_sum", sa.Float(), nullable=False),
        sa.Column("baseline_total", sa.Float(), nullable=False),
        sa.Column("market_points_sum", sa.Float(), nullable=False),
        sa.Column("market_points_count", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("handle"),
    )
    op.create_index("ix_forecaster_totals_claims_scored", "forecaster_totals", ["claims_scored"])
    # Every resolution rewrites these rows and its claim's score rows; indexes nothing reads
    # only slow it down: the leaderboard sorts at most one row per forecaster (the planner
    # does not use an index on a mean for NULLS LAST), and the unique (claim_id, handle)
    # index already serves lookups by claim.
    op.drop_index("ix_scores_claim_id", table_name="scores")
    op.drop_index("ix_scores_account_id", table_name="scores")


def downgrade() -> None:
    op.create_index("ix_scores_account_id", "scores", ["account_id"])
    op.create_index("ix_scores_claim_id", "scores", ["claim_id"])
    op.drop_table("forecaster_totals")
