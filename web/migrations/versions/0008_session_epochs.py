"""an epoch per account that site sessions must match, so that they can be ended

Revision ID: 0008
Revises: 0007

Sessions are signed cookies: nothing on the server could end one before it expired. Each
cookie now carries the account's `session_epoch` from its sign-in; a new password, "sign out
everywhere" or `forecast-ledger user revoke` moves the epoch on, and older cookies stop
counting. Existing cookies carry no epoch, which reads as 0, the starting value.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("session_epoch")
