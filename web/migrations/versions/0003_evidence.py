"""evidence snapshots, proposals and rule runs (automatic resolution)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 17:30:00
"""

import sqlalchemy as sa
from alembic import op

import claims.columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_runs",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("next_run_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_outcome", sa.String(length=10), nullable=True),
        sa.Column("last_run_at", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_until", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    op.create_index("ix_rule_runs_next_run_at", "rule_runs", ["next_run_at"])

    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("proposed_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_early", sa.Boolean(), nullable=False),
        sa.Column("tc", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("challenge_ends_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_proposals_claim_id", "proposals", ["claim_id"])
    op.create_index("ix_proposals_state", "proposals", ["state"])
    op.create_index("ix_proposals_challenge_ends_at", "proposals", ["challenge_ends_at"])

    op.create_table(
        "evidence_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("rule_index", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=False),
        sa.Column("fetched_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("decision", sa.String(length=3), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_evidence_snapshots_claim_id_id", "evidence_snapshots", ["claim_id", "id"]
    )
    op.create_index("ix_evidence_snapshots_proposal_id", "evidence_snapshots", ["proposal_id"])


def downgrade() -> None:
    op.drop_table("evidence_snapshots")
    op.drop_table("proposals")
    op.drop_table("rule_runs")
