"""Guards for Alembic downgrades that would drop data: a downgrade never silently loses rows."""

from __future__ import annotations

import sqlalchemy as sa

#: The `-x` argument that lets a downgrade drop rows: `flask db downgrade -x drop-data=yes REVISION`.
DROP_DATA_ARGUMENT = "drop-data"


class DowngradeWouldLoseData(RuntimeError):
    """A downgrade would drop rows and was not told it may."""


def refuse_to_drop_rows(tables: dict[str, str]) -> None:
    """Stop the running downgrade when any of ``tables`` (name → what its rows are) holds rows, unless it was
    run with ``-x drop-data=yes``; the message names what would be lost and how to proceed."""
    from alembic import context, op

    if context.get_x_argument(as_dictionary=True).get(DROP_DATA_ARGUMENT) == "yes":
        return
    bind = op.get_bind()
    held = {
        table: int(bind.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar() or 0)
        for table in tables
    }
    lost = [f"{count} {tables[table]} ({table})" for table, count in held.items() if count]
    if lost:
        raise DowngradeWouldLoseData(
            f"降级会删除数据：{'；'.join(lost)}。请先备份（deploy/backup.sh），确认后加 -x {DROP_DATA_ARGUMENT}=yes 重新运行。\n"
            f"This downgrade would delete {', '.join(lost)}. Back up first (deploy/backup.sh), then run it again "
            f"with `flask db downgrade -x {DROP_DATA_ARGUMENT}=yes <revision>` if that loss is intended."
        )
