"""scope_stamp runs one statement built at import (bound inspector id): its answer is the plain recount's,
for every user and after every kind of change the scope depends on."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Device as DeviceRow
from server.models import RegionVersion, SamplingAssignment, User
from server.services.scope import (
    DEVICE_USER_SCOPE_STAMP,
    region_tree_stamp,
    remember_scope_stamp,
    scope_stamp,
)
from tests.integration.sync_helpers import Device
from tests.integration.test_sync_scope_cache import CHANGES


def _recounted_stamp(user: User) -> tuple[Any, ...]:
    """The stamp as it was built before: a fresh statement per call, the user's id inlined."""
    assigned = sa.select(SamplingAssignment).where(SamplingAssignment.inspector_id == user.id)
    row = db.session.execute(
        sa.select(
            assigned.with_only_columns(sa.func.count()).scalar_subquery(),
            assigned.with_only_columns(sa.func.max(SamplingAssignment.change_no)).scalar_subquery(),
            sa.select(RegionVersion.value).where(RegionVersion.id == 1).scalar_subquery(),
        )
    ).one()
    return (user.role, user.region_id, user.enterprise_id, *tuple(row))


def _check_every_user() -> None:
    for user in db.session.scalars(sa.select(User)):
        assert scope_stamp(db.session, user) == _recounted_stamp(user), user.username
    assert region_tree_stamp(db.session) == _recounted_stamp(user)[-1:]


def test_the_prebuilt_stamp_is_the_recounted_one_after_every_change(app: Flask) -> None:
    """Same answer as the statement built per call, for every user, before and after each change."""
    with app.app_context():
        _check_every_user()
        db.session.rollback()
    for change in CHANGES:
        with app.app_context():
            change()
            db.session.commit()
        with app.app_context():
            _check_every_user()
            db.session.rollback()


def _stamp_read_with_the_device(device_id: str) -> tuple[Any, ...]:
    row = db.session.execute(
        sa.select(DeviceRow, *DEVICE_USER_SCOPE_STAMP).where(DeviceRow.id == uuid.UUID(device_id))
    ).one()
    return (row[0].user.role, row[0].user.region_id, row[0].user.enterprise_id, *tuple(row)[1:])


def test_the_stamp_read_with_the_device_is_the_recounted_one_after_every_change(app: Flask) -> None:
    """A sync request reads its user's stamp in the statement that finds its device: the same answer."""
    device = Device(app, "xx_insp1")
    for change in [lambda: None, *CHANGES]:
        with app.app_context():
            change()
            db.session.commit()
        with app.app_context():
            user = db.session.get(DeviceRow, uuid.UUID(device.device_id)).user  # type: ignore[union-attr]
            assert _stamp_read_with_the_device(device.device_id) == _recounted_stamp(user)
            db.session.rollback()


def test_a_stamp_read_with_the_device_serves_only_its_own_transaction_and_user(app: Flask) -> None:
    """Kept for the scope check of the same request: after a commit, or for another user, the stamp is read
    again."""
    made_up = (-1, -1, "made up")
    with app.app_context():
        inspector, supervisor = (db.session.scalar(sa.select(User).where(User.username == name))
                                 for name in ("xx_insp1", "xx_sup"))  # fmt: skip
        assert inspector is not None and supervisor is not None
        remember_scope_stamp(db.session, inspector.id, made_up)
        assert scope_stamp(db.session, inspector)[3:] == made_up
        assert scope_stamp(db.session, inspector) == _recounted_stamp(inspector)  # used once
        remember_scope_stamp(db.session, inspector.id, made_up)
        assert scope_stamp(db.session, supervisor) == _recounted_stamp(supervisor)
        remember_scope_stamp(db.session, inspector.id, made_up)
        db.session.commit()
        assert scope_stamp(db.session, inspector) == _recounted_stamp(inspector)
