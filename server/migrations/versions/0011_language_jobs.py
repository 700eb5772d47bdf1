"""user language and background jobs

The web's language chosen per user (zh/en), and long work (imports, reports, documents) run in the
background with its progress. A downgrade drops only the preference and the job records, never a record of
the campaign.

Revision ID: 0011_language_jobs
Revises: 0010_paperwork
Create Date: 2026-12-05 13:47:35.084924

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_language_jobs"
down_revision = "0010_paperwork"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "background_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="jobstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("done_steps", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=200), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("result_file", sa.String(length=255), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user_account.id"], name=op.f("fk_background_job_owner_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_job")),
    )
    with op.batch_alter_table("background_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_background_job_owner_id"), ["owner_id"], unique=False)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("language")

    with op.batch_alter_table("background_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_background_job_owner_id"))

    op.drop_table("background_job")
