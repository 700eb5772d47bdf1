"""decision withdrawn: a verdict by which a supervisor takes back an earlier decision on a reconciliation pair

Decisions are append-only, so undoing one is a new row; "same" and "different" cannot say "no decision": the
pair then goes back to the matcher. A downgrade cannot express a withdrawal without resurrecting the decision it
took back, so it refuses while any decision exists unless run with ``-x drop-data=yes`` (which deletes the
withdrawals and the decisions they took back alike: every decision of those pairs).

Revision ID: 0014_decision_withdrawn
Revises: 0013_reconciliation_decisions
Create Date: 2026-12-05 18:00:00

"""

import sqlalchemy as sa
from alembic import op

from server.migration_guards import refuse_to_drop_rows

revision = "0014_decision_withdrawn"
down_revision = "0013_reconciliation_decisions"
branch_labels = None
depends_on = None

VERDICTS = ("same", "different")


def _enum(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="pairverdict", native_enum=False, create_constraint=True, length=16)


def _change(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    # A VARCHAR with a CHECK constraint: batch mode drops the old constraint and creates the new one.
    with op.batch_alter_table("reconciliation_decision", schema=None) as batch_op:
        batch_op.alter_column("verdict", existing_type=_enum(old), type_=_enum(new), existing_nullable=False)


def upgrade():
    _change(VERDICTS, (*VERDICTS, "withdrawn"))


def downgrade():
    refuse_to_drop_rows({"reconciliation_decision": "reconciliation decisions"})
    op.execute(
        "DELETE FROM reconciliation_decision WHERE EXISTS (SELECT 1 FROM reconciliation_decision w "
        "WHERE w.verdict = 'withdrawn' AND w.finding_id = reconciliation_decision.finding_id "
        "AND w.entry_id = reconciliation_decision.entry_id)"
    )
    _change((*VERDICTS, "withdrawn"), VERDICTS)
