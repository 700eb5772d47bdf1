"""hazard withdrawn: a state and an event kind for a hazard withdrawn by its inspector before submission

Revision ID: 0008_hazard_withdrawn
Revises: 0007
Create Date: 2026-12-05 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_hazard_withdrawn"
down_revision = "0007"
branch_labels = None
depends_on = None

STATES = ("found", "planned", "reported", "rejected", "accepted", "closed")
KINDS = ("found", "rectification_planned", "rectification_reported", "accepted", "rejected",
         "deadline_extended", "closed", "listed", "delisted")  # fmt: skip


def _enum(values: tuple[str, ...], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def _change(
    table: str, column: str, name: str, length: int, old: tuple[str, ...], new: tuple[str, ...]
) -> None:
    # The enum is a VARCHAR with a CHECK constraint: batch mode drops the old constraint and creates the new one
    # (SQLite by recreating the table).
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            column,
            existing_type=_enum(old, name, length),
            type_=_enum(new, name, length),
            existing_nullable=False,
        )


def upgrade():
    _change("hazard", "state", "hazardstate", 16, STATES, (*STATES, "withdrawn"))
    _change("hazard_event", "kind", "hazardeventkind", 32, KINDS, (*KINDS, "withdrawn"))


def downgrade():
    # A withdrawn hazard cannot be expressed before this revision: it goes back to a deleted 'found' one, its
    # withdrawal event removed (the hazard row keeps deleted_at, so it still counts nowhere).
    op.execute("DELETE FROM hazard_event WHERE kind = 'withdrawn'")
    op.execute("UPDATE hazard SET state = 'found' WHERE state = 'withdrawn'")
    _change("hazard_event", "kind", "hazardeventkind", 32, (*KINDS, "withdrawn"), KINDS)
    _change("hazard", "state", "hazardstate", 16, (*STATES, "withdrawn"), STATES)
