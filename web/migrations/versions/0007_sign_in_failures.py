"""failed sign-ins in the database, so that every process counts the same ones

Revision ID: 0007
Revises: 0006

The throttle on wrong passwords (ten a minute per handle) was kept in each process: a
deployment of four processes allowed forty.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import claims.columns

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("failed_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failures_handle_at", "sign_in_failures", ["handle", "failed_at"])
    op.create_index("ix_sign_in_failures_at", "sign_in_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
