"""a payload version per ledger entry, so that commitments can hold more than they did

Revision ID: 0009_payload_version
Revises: 0008

SPEC §3: from payload version 2 on, a forecast's commitment also holds its rationale. Every
entry written before this revision is version 1 (the server default), and still verifies
as such. `ADD COLUMN` without a table rebuild: on SQLite a rebuild would drop the
append-only triggers of the ledger.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_payload_version"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ledger_entries",
        sa.Column("payload_version", sa.Integer(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (the triggers do not name it)
    op.drop_column("ledger_entries", "payload_version")
