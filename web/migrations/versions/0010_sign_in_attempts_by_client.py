"""sign-in attempts counted per handle and client address, before the password is checked

Revision ID: 0010_sign_in_by_client
Revises: 0009_payload_version

The throttle counted failures per handle after the slow password check: concurrent attempts
all passed the check (23 got through a limit of 10), and anyone could lock anyone out by
failing on their handle. Rows are now attempts, written before the check and deleted when it
succeeds, and counted per handle and client address.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010_sign_in_by_client"
down_revision = "0009_payload_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sign_in_failures") as batch:
        batch.add_column(
            sa.Column(
                "client",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
        batch.drop_index("ix_sign_in_failures_handle_at")
        batch.create_index(
            "ix_sign_in_failures_handle_client_at", ["handle", "client", "failed_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sign_in_failures") as batch:
        batch.drop_index("ix_sign_in_failures_handle_client_at")
        batch.create_index("ix_sign_in_failures_handle_at", ["handle", "failed_at"])
        batch.drop_column("client")
