"""Tablets of the users a supervisor (or admin) manages: revoke a lost one in one step, or sign a user out."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, url_for

from server import security
from server.extensions import db
from server.models import Device, User
from server.services.devices import revoke_device
from server.services.scope import visible_region_ids
from server.services.users import may_manage, sign_out_everywhere
from server.web.access import current_supervisor, supervisor_required

bp = Blueprint("tablets", __name__)


@bp.route("/devices")
@supervisor_required
def device_list() -> Any:
    """Every tablet of the users in the supervisor's scope, newest first."""
    actor = current_supervisor()
    rows = db.session.scalars(sa.select(Device).join(User, Device.user_id == User.id)
                              .order_by(Device.created_at.desc()).limit(2000)).all()  # fmt: skip
    regions = visible_region_ids(db.session, actor)
    devices = [d for d in rows if may_manage(db.session, actor, d.user, regions=regions)]
    return render_template("devices.html", devices=devices)


@bp.route("/devices/<uuid:device_id>/revoke", methods=["POST"])
@supervisor_required
def device_revoke(device_id: uuid.UUID) -> Any:
    """Revoke a lost tablet: its token, its registration and every session of its user end at once."""
    actor = current_supervisor()
    device = db.session.get(Device, device_id)
    if device is None or not may_manage(db.session, actor, device.user):
        abort(404)
    revoke_device(db.session, device, by=actor, keep_session=security.current_session_id())
    db.session.commit()
    return redirect(url_for("tablets.device_list"))


@bp.route("/users/<int:user_id>/sign-out", methods=["POST"])
@supervisor_required
def user_sign_out(user_id: int) -> Any:
    """Sign a user out everywhere."""
    actor = current_supervisor()
    user = db.session.get(User, user_id)
    if user is None or not may_manage(db.session, actor, user):
        abort(404)
    sign_out_everywhere(db.session, user, by=actor, reason="web")
    db.session.commit()
    return redirect(url_for("tablets.device_list"))
