"""device keys: every public key a device ever had, with its validity period; a region's report phone

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 11:00:00

Existing devices get one row: their current key, in force since the device was created. region.contact_phone is
the 联系电话 a bureau prints on its monthly report.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "device_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("public_key_jwk", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_device_key_device_id_device")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_key")),
    )
    with op.batch_alter_table("device_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_key_device_id"), ["device_id"], unique=False)
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=32), nullable=True))
    op.execute(
        "INSERT INTO device_key (device_id, public_key_jwk, valid_from, valid_to) "
        "SELECT id, public_key_jwk, created_at, NULL FROM device WHERE public_key_jwk IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("contact_phone")
    with op.batch_alter_table("device_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_key_device_id"))
    op.drop_table("device_key")
