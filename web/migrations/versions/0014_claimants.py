"""claimants, the claims that cite them, and their track records (SPEC §8)

Revision ID: 0014_claimants
Revises: 0012_claim_kinds

Claims from before claimants keep their free-text `source.claimant`; `claims.claimant` stays
NULL for them (never linked, never counted) until an editor links one.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from claims.columns import UTCDateTime

revision = "0014_claimants"
down_revision = "0012_claim_kinds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claimants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_claimants_slug", "claimants", ["slug"], unique=True)
    op.create_table(
        "claimant_records",
        sa.Column("claimant_id", sa.Integer(), nullable=False),
        sa.Column("claims_resolved", sa.Integer(), nullable=False),
        sa.Column("hit_rate", sa.Float(), nullable=True),
        sa.Column("mean_consensus", sa.Float(), nullable=True),
        sa.Column("yield_", sa.Float(), nullable=True),
        sa.Column("brier", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["claimant_id"], ["claimants.id"]),
        sa.PrimaryKeyConstraint("claimant_id"),
    )
    op.create_index(
        "ix_claimant_records_claims_resolved", "claimant_records", ["claims_resolved"]
    )
    op.create_table(
        "claim_consensus",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("consensus", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    with op.batch_alter_table("claims") as batch:
        batch.add_column(
            sa.Column("claimant", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch.create_index("ix_claims_claimant", ["claimant"])


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_claimant")
        batch.drop_column("claimant")
    op.drop_table("claim_consensus")
    op.drop_table("claimant_records")
    op.drop_index("ix_claimants_slug", table_name="claimants")
    op.drop_table("claimants")
