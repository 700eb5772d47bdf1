"""review queue index

The review queue (server.services.review.list_inspections) shows a status's inspections newest first, 50 a page:
at province scale (14,000 submitted inspections in a city's scope) every request read and sorted them all. This
index holds them in that order, so a page is read from its start. Index only: the downgrade drops it and no data.

SQLite cannot reflect an index on an expression: a later revision that rebuilds the inspection table in batch mode
there (copy and move) does not carry this index over and must create it again.

Revision ID: 0016_review_queue_index
Revises: 0015_region_version
Create Date: 2026-12-05 23:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_review_queue_index"
down_revision = "0015_region_version"
branch_labels = None
depends_on = None

#: server.models.inspection.REVIEW_QUEUE_NEWEST_FIRST as of this revision.
NEWEST_FIRST = "coalesce(finished_at, started_at, received_at) DESC"
NOT_DELETED = "deleted_at IS NULL"


def upgrade():
    op.create_index(
        "ix_inspection_review_queue",
        "inspection",
        ["status", sa.text(NEWEST_FIRST), "id"],
        postgresql_where=sa.text(NOT_DELETED),
        sqlite_where=sa.text(NOT_DELETED),
    )


def downgrade():
    op.drop_index("ix_inspection_review_queue", table_name="inspection")
