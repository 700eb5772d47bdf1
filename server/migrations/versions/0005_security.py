"""security: the audit chain's head row and hash scheme

Revision ID: 0005
Revises: 0004_sampling_draw

Rows written before this migration keep their plain SHA-256 hashes (scheme 1): they are verified as they were
written, and the first keyed row chains to the last of them, so rewriting any old row still breaks the chain at
the first keyed row. Nothing is re-hashed: re-hashing would launder any edit made before the upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004_sampling_draw"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

#: (table, column) → longest text: a copy of server/domain/limits.py as of this revision (a migration must not
#: change when the code does).
TEXT_LIMITS = {
    ("hazard", "description"): 10_000,
    ("hazard", "level_reason"): 10_000,
    ("hazard", "treatment_plan"): 10_000,
    ("hazard_event", "comment"): 10_000,
    ("inspection", "summary_note"): 10_000,
    ("inspection", "sealed_record"): 2_000_000,
    ("inspection", "device_signature"): 1_000,
    ("item_result", "note"): 10_000,
    ("review_decision", "comment"): 10_000,
}


def _refuse_oversized_rows(bind):
    """Stop (changing nothing) when stored texts exceed the new limits: shortening them here would silently
    change evidence, so an operator decides what to do with each row named."""
    found = []
    for (table, column), limit in TEXT_LIMITS.items():
        rows = bind.execute(sa.text(f"SELECT id FROM {table} WHERE length({column}) > :limit LIMIT 20"),
                            {"limit": limit}).scalars().all()  # fmt: skip
        found += [f"{table}.{column} > {limit}: {', '.join(str(r) for r in rows)}"] if rows else []
    if found:
        raise RuntimeError(
            "0005: stored texts exceed the new length limits; review and shorten them, then upgrade "
            "again / 已存文字超过新的长度上限，请先处理以下记录: " + "; ".join(found)
        )


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme", sa.SmallInteger(), server_default="1", nullable=False))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    bind = op.get_bind()
    _refuse_oversized_rows(bind)
    for table in dict.fromkeys(t for t, _ in TEXT_LIMITS):  # one rebuild per table on SQLite
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (name, column), limit in TEXT_LIMITS.items():
                if name == table:
                    batch_op.create_check_constraint(
                        op.f(f"ck_{table}_{column}_length"), f"length({column}) <= {limit}"
                    )
    last = bind.execute(sa.text("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")).first()
    count = bind.execute(sa.text("SELECT count(*) FROM audit_event")).scalar() or 0
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "row_id": last.id if last else None,
                "hash": last.hash if last else GENESIS,
                "rows": count,
            }
        ],
    )

    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_web_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index("ix_login_failure_username_at", ["username", "at"], unique=False)
        batch_op.create_index("ix_login_failure_address_at", ["address", "at"], unique=False)


def downgrade():
    for table in dict.fromkeys(t for t, _ in TEXT_LIMITS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column in TEXT_LIMITS:
                if name == table:
                    batch_op.drop_constraint(op.f(f"ck_{table}_{column}_length"), type_="check")
    op.drop_table("login_failure")
    op.drop_table("web_session")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("scheme")
