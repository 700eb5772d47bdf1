"""Issue 17, item 5: the region tree is read once per transaction and kept per worker, stamped with what it is
built from; an added, moved or removed region is seen at once (after a flush in the same session, and by
another server's cache), and a scope's regions always equal a walk of the tree by queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server import create_app
from server.extensions import db
from server.models import Region
from server.models.region import RegionLevel
from server.services.scope import region_subtree_ids
from tests.conftest import app_config, dispose


def _walked(root_id: int) -> set[int]:
    """The subtree by one query per level, as it was read before the tree was kept."""
    ids, frontier = {root_id}, {root_id}
    while frontier:
        frontier = set(db.session.scalars(sa.select(Region.id).where(Region.parent_id.in_(frontier)))) - ids
        ids |= frontier
    return ids


def _all_subtrees_match() -> None:
    for region_id in db.session.scalars(sa.select(Region.id)):
        assert region_subtree_ids(db.session, region_id) == _walked(region_id), region_id


def test_the_kept_tree_follows_added_moved_and_removed_regions(app: Flask) -> None:
    with app.app_context():
        _all_subtrees_match()
        county = db.session.scalar(sa.select(Region).where(Region.code == "141123"))
        other = db.session.scalar(sa.select(Region).where(Region.code == "141124"))
        assert county is not None and other is not None
        before = region_subtree_ids(db.session, county.id)
        town = Region(code="141123900", name="测试镇", level=RegionLevel.zone, parent_id=county.id)
        db.session.add(town)
        db.session.flush()  # not yet committed: the same session sees it at once
        assert region_subtree_ids(db.session, county.id) == before | {town.id}
        db.session.commit()
        _all_subtrees_match()
        town.parent_id = other.id
        db.session.commit()
        assert town.id not in region_subtree_ids(db.session, county.id)
        assert town.id in region_subtree_ids(db.session, other.id)
        _all_subtrees_match()
        db.session.delete(town)
        db.session.commit()
        assert region_subtree_ids(db.session, county.id) == before
        _all_subtrees_match()


def test_a_region_moved_through_another_server_is_seen(
    database_url: str, tmp_path: Path, qr_key_file: str
) -> None:
    a = create_app(app_config(database_url, tmp_path / "a", QR_SIGNING_KEY_FILE=qr_key_file))
    b = create_app(app_config(database_url, tmp_path / "b", QR_SIGNING_KEY_FILE=qr_key_file))
    try:
        with a.app_context():
            county = db.session.scalar(sa.select(Region).where(Region.code == "141123"))
            assert county is not None
            county_id = county.id
            seen: Any = region_subtree_ids(db.session, county_id)
            db.session.remove()
        with b.app_context():
            child = db.session.scalar(
                sa.select(Region).where(Region.parent_id == county_id).order_by(Region.id)
            )
            assert child is not None
            moved = child.id
            child.parent_id = None
            db.session.commit()
        with a.app_context():
            assert moved in seen
            assert moved not in region_subtree_ids(db.session, county_id)
            assert region_subtree_ids(db.session, county_id) == _walked(county_id)
            db.session.remove()
    finally:
        dispose(a)
        dispose(b)
