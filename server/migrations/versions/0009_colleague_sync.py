"""user sync: the region's inspectors reach tablets as the pull entity 'colleague' (team picker)

Revision ID: 0009_colleague_sync
Revises: 0008_hazard_withdrawn
Create Date: 2026-12-05 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_colleague_sync"
down_revision = "0008_hazard_withdrawn"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("change_no", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_account_change_no"), ["change_no"], unique=False)
    # Like every synced table, no server default: the model sets them.
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column(
            "row_version", server_default=None, existing_type=sa.Integer(), existing_nullable=False
        )
        batch_op.alter_column(
            "change_no", server_default=None, existing_type=sa.BigInteger(), existing_nullable=False
        )
    # Existing users get change numbers after everything numbered so far, so a device's next pull sees them.
    connection = op.get_bind()
    counter = sa.table("change_counter", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger))
    users = sa.table("user_account", sa.column("id", sa.Integer), sa.column("change_no", sa.BigInteger))
    number = connection.execute(sa.select(counter.c.value).where(counter.c.id == 1)).scalar() or 0
    for (user_id,) in connection.execute(sa.select(users.c.id).order_by(users.c.id)).all():
        number += 1
        connection.execute(sa.update(users).where(users.c.id == user_id).values(change_no=number))
    connection.execute(sa.update(counter).where(counter.c.id == 1).values(value=number))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_change_no"))
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("change_no")
        batch_op.drop_column("row_version")
