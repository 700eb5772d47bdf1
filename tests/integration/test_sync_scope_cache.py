"""A sync request's scope comes from a per-worker cache, yet every change to what a user may see (their
role or region, the region tree, their 双随机 assignments) and a revoked tablet are seen on the very next
request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.caches import scope_cache
from server.domain.roles import Role
from server.extensions import db
from server.models import (
    Campaign,
    Enterprise,
    Inspection,
    Region,
    RegionLevel,
    SamplingAssignment,
    SamplingDraw,
    User,
)
from server.models.base import utcnow
from server.services.scope import ScopeCache, cached_scope_for, scope_for
from tests.conftest import login
from tests.integration.sync_helpers import T0, Device, enterprise_and_catalogue


def _user(name: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == name))
    assert user is not None
    return user


def _region(code: str) -> Region:
    region = db.session.scalar(sa.select(Region).where(Region.code == code))
    assert region is not None
    return region


def _add_assignment() -> None:
    inspector, supervisor = _user("xx_insp1"), _user("xx_sup")
    campaign = db.session.scalar(sa.select(Campaign))
    outside = db.session.scalar(sa.select(Enterprise).where(Enterprise.region_id != _region("141123").id))
    if outside is None:  # every demo enterprise is in the county: one elsewhere, as a cross-county draw gives
        other = Region(code="141125", name="柳林县", level=RegionLevel.county, parent=_region("141100"))
        outside = db.session.scalar(sa.select(Enterprise))
        assert outside is not None
        outside.region = other
    assert campaign is not None
    draw = SamplingDraw(campaign_id=campaign.id, drawn_by_id=supervisor.id, seed="s", percent=10,
                        stratified=False, population_size=1, sample_size=1)  # fmt: skip
    db.session.add(
        SamplingAssignment(draw=draw, enterprise_id=outside.id, inspector_id=inspector.id, ordinal=0)
    )


def _withdraw_assignments() -> None:
    for row in db.session.scalars(sa.select(SamplingAssignment)):
        row.deleted_at = utcnow()  # as sampling.py withdraws a draw's visits


def _move_zone_out() -> None:
    _region("141123-Z1").parent_id = _region("141100").id


def _add_town() -> None:
    db.session.add(
        Region(code="141123-99", name="蔚汾镇", level=RegionLevel.zone, parent_id=_region("141123").id)
    )


def _move_user() -> None:
    _user("xx_insp1").region_id = _region("141123-Z1").id


def _promote_user() -> None:
    _user("xx_insp1").role = Role.supervisor


CHANGES: list[Callable[[], None]] = [
    _add_assignment, _withdraw_assignments, _move_zone_out, _add_town, _move_user, _promote_user,
]  # fmt: skip


def test_the_cached_scope_is_the_fresh_one_after_every_kind_of_change(app: Flask) -> None:
    """Each change, committed between two requests, gives the next one the scope built from scratch."""
    cache = ScopeCache()
    with app.app_context():
        warmed = cached_scope_for(db.session, _user("xx_insp1"), cache)
        assert warmed == scope_for(db.session, _user("xx_insp1"))
        db.session.rollback()
    for change in CHANGES:
        with app.app_context():
            before = cached_scope_for(db.session, _user("xx_insp1"), cache)
            change()
            db.session.commit()
        with app.app_context():
            fresh = scope_for(db.session, _user("xx_insp1"))
            assert fresh != before, change.__name__  # the change is one the scope depends on
            assert cached_scope_for(db.session, _user("xx_insp1"), cache) == fresh, change.__name__
            db.session.rollback()


def test_unchanged_scopes_come_from_the_cache(app: Flask) -> None:
    """The point of it: a second request of the same user does not build the scope again."""
    cache = ScopeCache()
    with app.app_context():
        first = cached_scope_for(db.session, _user("xx_insp1"), cache)
        db.session.rollback()
    with app.app_context():
        assert cached_scope_for(db.session, _user("xx_insp1"), cache) is first


def _pull(device: Device, cursor: str | None) -> Any:
    query = {"limit": 500, **({"cursor": cursor} if cursor else {})}
    return device.client.get("/api/sync/pull", query_string=query, headers=device.headers)


def test_a_region_moved_out_of_scope_resets_the_very_next_pull(app: Flask) -> None:
    """The tablet's pull after the change starts again from zero (its fingerprint changed), cache or not."""
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    reply = _pull(device, cursor)
    assert reply.status_code == 200 and reply.get_json()["reset"] is False  # the cache is warm
    with app.app_context():
        assert len(scope_cache()._entries) == 1
        _move_zone_out()
        db.session.commit()
    reply = _pull(device, cursor)
    assert reply.status_code == 200 and reply.get_json()["reset"] is True


def test_a_revoked_tablet_is_refused_on_its_very_next_request(app: Flask) -> None:
    """Revoked between two syncs with its scope cached: the next pull is refused, the next push quarantined."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, _codes = enterprise_and_catalogue(app)
    _, cursor, _ = device.pull_all()
    assert _pull(device, cursor).status_code == 200  # the cache is warm
    admin = app.test_client()
    csrf = login(admin, "admin")
    assert admin.post(f"/devices/{device.device_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert _pull(device, cursor).status_code == 401
    inspection_id = str(uuid.uuid4())
    reply = device.push([device.mutation("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id,
                                                        "kind": "county", "started_at": T0.isoformat()}, id=inspection_id)])  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    assert [r["status"] for r in reply.get_json()["results"]] == ["quarantined"]
    with app.app_context():
        assert db.session.get(Inspection, uuid.UUID(inspection_id)) is None
