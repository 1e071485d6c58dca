"""email addresses, link tokens, items and messages (SPEC §9)

Revision ID: 0016_email
Revises: 0015_outbox_webhooks

Also the stale notices (each standing forecast reported stale once) and the cursor of
outbox events already turned into email items.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import claims.columns

revision = "0016_email"
# also the merge of the two heads the parallel branches left (the lead re-chains them)
down_revision = "0015_outbox_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "email_addresses",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("confirmed_at", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closing_soon", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column("stale_forecasts", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column("scores", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column("new_claims", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("stale_after_days", sa.Integer(), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("time_zone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_digest_on", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "email_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("streams", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.Column("created_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_at", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_tokens_account_purpose", ["account_id", "purpose"], unique=False
        )

    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("leased_until", claims.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["email_tokens.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_messages_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_email_messages_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "email_stale_notices",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "claim_id", "ledger_seq"),
    )
    op.create_table(
        "email_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", claims.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["email_messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("email_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_items_account_message", ["account_id", "message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_email_items_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_items_message_id"))
        batch_op.drop_index("ix_email_items_account_message")

    op.drop_table("email_items")
    op.drop_table("email_stale_notices")
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_email_messages_due")
        batch_op.drop_index(batch_op.f("ix_email_messages_account_id"))

    op.drop_table("email_messages")
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_email_tokens_account_purpose")

    op.drop_table("email_tokens")
    op.drop_table("email_addresses")
    op.drop_table("email_cursor")
