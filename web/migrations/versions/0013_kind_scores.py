"""scores of multiple-choice, numeric and date claims (SPEC §7)

Revision ID: 0013_kind_scores
Revises: 0012_claim_kinds

Score rows gain `crps` and `time_averaged_crps` (numeric and date claims; null elsewhere) and
`pit`, F(u_o) of the CDF standing at the close, which the profile's PIT histogram counts. The
totals gain the sum and count of `crps` and their mean, `mean_crps`, for the leaderboard.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_kind_scores"
down_revision = "0012_claim_kinds"
branch_labels = None
depends_on = None

_SCORES = ("crps", "time_averaged_crps", "pit")


# Plain ADD COLUMN, not batch mode: a batch would rebuild `scores` on SQLite and lose its
# expression index (ix_scores_shelf_handle), which reflection cannot read back.
def upgrade() -> None:
    for name in _SCORES:
        op.add_column("scores", sa.Column(name, sa.Float(), nullable=True))
    op.add_column(
        "forecaster_totals", sa.Column("crps_sum", sa.Float(), nullable=False, server_default="0")
    )
    op.add_column(
        "forecaster_totals",
        sa.Column("crps_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("forecaster_totals", sa.Column("mean_crps", sa.Float(), nullable=True))


def downgrade() -> None:
    for name in ("mean_crps", "crps_count", "crps_sum"):
        op.drop_column("forecaster_totals", name)
    for name in reversed(_SCORES):
        op.drop_column("scores", name)
