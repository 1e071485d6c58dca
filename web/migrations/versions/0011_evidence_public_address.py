"""whether an evidence snapshot's body came from public addresses only

Revision ID: 0011_evidence_public_address
Revises: 0010_sign_in_by_client

A body fetched from a range that FORECAST_LEDGER_FETCH_ALLOW lets in is an internal source:
it is shown to editors only, unless FORECAST_LEDGER_PUBLISH_PRIVATE_EVIDENCE says otherwise.
Snapshots kept before this was recorded stay NULL, read as "not public": nobody can tell now
where they came from.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_evidence_public_address"
down_revision = "0010_sign_in_by_client"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_snapshots") as batch:
        batch.add_column(sa.Column("public_address", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_snapshots") as batch:
        batch.drop_column("public_address")
