"""scores filed by handle within shelves of consecutive ids, not by handle alone

Revision ID: 0006
Revises: 0005

`ix_scores_handle` put each new score row next to that forecaster's older rows. A claim
with a thousand forecasters resolving on a record of a million rows therefore dirtied a
thousand leaf pages of the index at random places (2,300 right after a rescore, whose
`CREATE INDEX` packs the leaves full): about 10 MB of WAL for one commit, most of the time
of the first resolution.

`ix_scores_shelf_handle` is keyed by (id / 16384, handle). Ids grow as rows are written, so
a resolution's rows all land in the newest shelf, a few dozen leaves. A forecaster's rows
are found with one index seek per shelf (`forecasts.tables.scores_of_handle`): about 60 for
a million rows. The divisor is `forecasts.models.SHELF_ROWS`, spelled out here because a
migration must not change when the code does.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_scores_handle", table_name="scores")
    op.create_index("ix_scores_shelf_handle", "scores", [sa.text("(id / 16384)"), "handle"])


def downgrade() -> None:
    op.drop_index("ix_scores_shelf_handle", table_name="scores")
    op.create_index("ix_scores_handle", "scores", ["handle"])
