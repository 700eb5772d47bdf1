"""province indexes for the supervisors' pages

At province scale (10,000 enterprises, 40,000 inspections, 60,000 hazards, 165,000 hazard events) the dashboard
counted from scratch and the map read whole tables: the drafts every hazard figure leaves out were found by
scanning the inspections, the inspections that count for coverage by reading their wide rows, the latest
acceptance and closing of each rectified hazard by scanning every event, the open hazards the map draws by
scanning the hazards' wide rows, and the map's latest inspections by sorting them all. Indexes only: the
downgrade drops them and no data.

Revision ID: 0014_province_indexes
Revises: 0013_reconciliation_decisions
Create Date: 2026-12-05 17:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_province_indexes"
down_revision = "0013_reconciliation_decisions"
branch_labels = None
depends_on = None

#: server.models.hazard.OPEN_HAZARD_PREDICATE as of this revision.
OPEN_HAZARD = "deleted_at IS NULL AND state IN ('found', 'planned', 'reported', 'rejected')"
#: server.models.inspection.COUNTING_INSPECTION_PREDICATE as of this revision.
COUNTING = (
    "deleted_at IS NULL AND finished_at IS NOT NULL AND sealed_record IS NOT NULL AND seal_verified IS TRUE "
    "AND kind <> 'self'"
)


def upgrade():
    op.create_index("ix_inspection_status", "inspection", ["status"])
    op.create_index("ix_inspection_started_at", "inspection", ["started_at"])
    op.create_index(
        "ix_inspection_unstarted",
        "inspection",
        ["received_at"],
        postgresql_where=sa.text("started_at IS NULL"),
        sqlite_where=sa.text("started_at IS NULL"),
    )
    op.create_index(
        "ix_inspection_counting",
        "inspection",
        ["enterprise_id", "finished_at", "status"],
        postgresql_where=sa.text(COUNTING),
        sqlite_where=sa.text(COUNTING),
    )
    op.create_index("ix_hazard_event_kind_hazard_at", "hazard_event", ["kind", "hazard_id", "at"])
    op.create_index(
        "ix_hazard_open",
        "hazard",
        ["enterprise_id", "level", "state", "deadline"],
        postgresql_where=sa.text(OPEN_HAZARD),
        sqlite_where=sa.text(OPEN_HAZARD),
    )


def downgrade():
    op.drop_index("ix_hazard_open", table_name="hazard")
    op.drop_index("ix_hazard_event_kind_hazard_at", table_name="hazard_event")
    op.drop_index("ix_inspection_counting", table_name="inspection")
    op.drop_index("ix_inspection_unstarted", table_name="inspection")
    op.drop_index("ix_inspection_started_at", table_name="inspection")
    op.drop_index("ix_inspection_status", table_name="inspection")
