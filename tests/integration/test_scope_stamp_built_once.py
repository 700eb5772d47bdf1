"""scope_stamp runs one statement built at import (bound inspector id): its answer is the plain recount's,
for every user and after every kind of change the scope depends on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import RegionVersion, SamplingAssignment, User
from server.services.scope import region_tree_stamp, scope_stamp
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
