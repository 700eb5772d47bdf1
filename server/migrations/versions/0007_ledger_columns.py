"""ledger columns: the column mapping an enterprise chose for its ledger workbooks

Revision ID: 0007
Revises: 0006

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger_column_map", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_column("ledger_column_map")
