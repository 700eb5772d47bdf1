"""region version: the region tree's stamp in one row, renewed by the database on every tree write

Every sync request checked its user's scope against a stamp of the region tree computed from the whole region
table (its size, two checksums of its parent links, its latest update): a scan per request, 10,000+ rows at
province scale. The stamp is now one row, region_version (id 1), whose value triggers on ``region`` draw anew on
every insert, delete and change of ``id`` or ``parent_id``, so a write is seen whoever makes it (the app, a bulk
statement, psql, another server). A name or a report phone changes no scope and renews nothing.

On SQLite a batch migration that copies ``region`` drops these triggers: such a migration must call
``create_triggers`` again (tests/integration/test_region_tree_version.py fails otherwise). The downgrade drops
the row and the triggers only (the stamp is derived data).

Revision ID: 0015_region_version
Revises: 0014_province_indexes
Create Date: 2026-12-05 23:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_region_version"
down_revision = "0014_province_indexes"
branch_labels = None
depends_on = None

#: SQLite's triggers are per row and per event.
_SQLITE_EVENTS = {"insert": "INSERT", "delete": "DELETE", "move": "UPDATE OF id, parent_id"}
#: A fresh value, never a counter: a rolled-back writer's value must not come back (server.models.RegionVersion).
_SQLITE_RENEW = "UPDATE region_version SET value = random() WHERE id = 1;"
_POSTGRESQL_FUNCTION = """
CREATE FUNCTION region_version_renew() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE region_version SET value = floor(random() * 9007199254740991)::bigint WHERE id = 1;
    RETURN NULL;
END
$$
"""
_POSTGRESQL_TRIGGER = """
CREATE TRIGGER region_version_renew
AFTER INSERT OR DELETE OR UPDATE OF id, parent_id OR TRUNCATE ON region
FOR EACH STATEMENT EXECUTE FUNCTION region_version_renew()
"""


def create_triggers():
    """The triggers renewing region_version on every write to the region tree (per dialect)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRESQL_FUNCTION)
        op.execute(_POSTGRESQL_TRIGGER)
        return
    for name, event in _SQLITE_EVENTS.items():
        op.execute(f"CREATE TRIGGER region_version_{name} AFTER {event} ON region BEGIN {_SQLITE_RENEW} END")


def drop_triggers():
    """Remove what create_triggers made."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS region_version_renew ON region")
        op.execute("DROP FUNCTION IF EXISTS region_version_renew()")
        return
    for name in _SQLITE_EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS region_version_{name}")


def upgrade():
    table = op.create_table(
        "region_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_version")),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])
    create_triggers()


def downgrade():
    drop_triggers()
    op.drop_table("region_version")
