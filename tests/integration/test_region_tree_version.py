"""The region tree's stamp is read from one row (region_version) that the database itself renews on every write that
can change the tree (a region added, removed, moved, or renumbered), whoever writes: the app's ORM, a bulk
statement, raw SQL in psql, another server. Every sync request reads it instead of scanning the region table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Region, RegionLevel, User
from server.services.scope import region_tree_stamp, scope_stamp


def _county_id() -> int:
    county_id = db.session.scalar(sa.select(Region.id).where(Region.code == "141123"))
    assert county_id is not None
    return county_id


def _orm_add() -> None:
    db.session.add(Region(code="141123-98", name="测试镇", level=RegionLevel.zone, parent_id=_county_id()))


def _orm_move() -> None:
    zone = db.session.scalar(sa.select(Region).where(Region.code == "141123-Z1"))
    assert zone is not None
    zone.parent_id = db.session.scalar(sa.select(Region.id).where(Region.code == "141100"))


def _orm_remove() -> None:
    db.session.delete(db.session.scalar(sa.select(Region).where(Region.code == "141123-97")))


def _bulk_insert() -> None:
    db.session.execute(sa.insert(Region), [
        {"code": f"141123-B{n}", "name": f"批量镇{n}", "level": RegionLevel.zone, "parent_id": _county_id()}
        for n in range(3)
    ])  # fmt: skip


def _sql_insert() -> None:
    db.session.execute(sa.text(
        "INSERT INTO region (code, name, level, parent_id, created_at, updated_at)"
        " VALUES ('141123-96', '手工镇', 'zone', :parent, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    ), {"parent": _county_id()})  # fmt: skip


def _sql_move() -> None:
    db.session.execute(sa.text("UPDATE region SET parent_id = NULL WHERE code = '141123-Z1'"))


def _sql_remove() -> None:
    db.session.execute(sa.text("DELETE FROM region WHERE code = '141123-97'"))


def _nothing() -> None:
    """No region to prepare."""


def _spare_region() -> None:
    """A region nothing refers to, for the removals."""
    db.session.add(Region(code="141123-97", name="待删镇", level=RegionLevel.zone, parent_id=_county_id()))


#: (what is prepared and committed first, the change)
CHANGES: list[tuple[Callable[[], None], Callable[[], None]]] = [
    (_nothing, _orm_add), (_nothing, _orm_move), (_spare_region, _orm_remove), (_nothing, _bulk_insert),
    (_nothing, _sql_insert), (_nothing, _sql_move), (_spare_region, _sql_remove),
]  # fmt: skip


@pytest.mark.parametrize(("prepare", "change"), CHANGES, ids=[c.__name__.strip("_") for _, c in CHANGES])
def test_every_kind_of_region_write_renews_the_stamp(
    app: Flask, prepare: Callable[[], None], change: Callable[[], None]
) -> None:
    with app.app_context():
        prepare()
        db.session.commit()
        inspector = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        assert inspector is not None
        before = region_tree_stamp(db.session), scope_stamp(db.session, inspector)
        db.session.rollback()
        change()
        db.session.commit()
        after = region_tree_stamp(db.session), scope_stamp(db.session, inspector)
        assert after[0] != before[0] and after[1] != before[1]


def test_a_rename_keeps_the_stamp(app: Flask) -> None:
    """A region's name is not part of anyone's scope: renaming one (or its report phone) rebuilds nothing."""
    with app.app_context():
        before = region_tree_stamp(db.session)
        db.session.execute(
            sa.text("UPDATE region SET name = '兴县（新）', contact_phone = '0358-1' WHERE code = '141123'")
        )
        db.session.commit()
        assert region_tree_stamp(db.session) == before


def test_a_stamp_read_scans_no_region(app: Flask) -> None:
    """The point: a sync request's stamp reads one row, not the region table (10,000+ rows in a province)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    with app.app_context():
        inspector = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        assert inspector is not None
        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            scope_stamp(db.session, inspector)
            region_tree_stamp(db.session)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) == 2
    assert not [s for s in seen if "from region " in s + " "], seen
