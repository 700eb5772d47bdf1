"""reconciliation decisions

A supervisor's word on a reconciliation pair (this finding and this ledger entry are one hazard, or two). The
matcher proposes pairs; only pairs a supervisor confirmed count in a scored figure (自查可靠率). Decisions are
append-only: the latest on a pair wins; "withdrawn" takes an earlier decision back. A downgrade would drop
supervisors' decisions, so it refuses while any exist unless run with ``-x drop-data=yes``.

Revision ID: 0013_reconciliation_decisions
Revises: 0012_job_heartbeat
Create Date: 2026-12-05 17:00:00

"""

import sqlalchemy as sa
from alembic import op

from server.migration_guards import refuse_to_drop_rows

# revision identifiers, used by Alembic.
revision = "0013_reconciliation_decisions"
down_revision = "0012_job_heartbeat"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reconciliation_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum(
                "same",
                "different",
                "withdrawn",
                name="pairverdict",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_reconciliation_decision_decided_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_reconciliation_decision_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["hazard.id"], name=op.f("fk_reconciliation_decision_entry_id_hazard")
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["hazard.id"], name=op.f("fk_reconciliation_decision_finding_id_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_decision")),
    )
    with op.batch_alter_table("reconciliation_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_decision_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reconciliation_decision_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            "ix_reconciliation_decision_pair", ["finding_id", "entry_id", "id"], unique=False
        )


def downgrade():
    refuse_to_drop_rows({"reconciliation_decision": "reconciliation decisions"})
    with op.batch_alter_table("reconciliation_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_decision_pair")
        batch_op.drop_index(batch_op.f("ix_reconciliation_decision_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_reconciliation_decision_entry_id"))
    op.drop_table("reconciliation_decision")
