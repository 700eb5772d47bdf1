"""background job heartbeat

A running job's runner touches ``heartbeat_at`` every few seconds; a job whose heartbeat stopped (its process
was killed or restarted) is marked failed, with a retryable message, the next time anyone looks at it. Jobs are
listed per owner newest first. A downgrade drops only the heartbeat column and the index.

Revision ID: 0012_job_heartbeat
Revises: 0011_language_jobs
Create Date: 2026-12-05 14:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_job_heartbeat"
down_revision = "0011_language_jobs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("background_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_background_job_owner_created", ["owner_id", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("background_job", schema=None) as batch_op:
        batch_op.drop_index("ix_background_job_owner_created")
        batch_op.drop_column("heartbeat_at")
