"""The supervisor's overview as JSON: what the dashboard page shows, within the caller's scope."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server import clock
from server.api.access import supervisor_user
from server.caches import clearance_cache, contribution_cache, dashboard_cache
from server.extensions import db
from server.services import oversight

blp = Blueprint("dashboard", __name__, url_prefix="/api/dashboard", description="Dashboard / 监管总览")


class PhaseCoverageSchema(Schema):
    """Coverage of one campaign phase."""

    code = fields.String()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    inspected = fields.Integer()
    in_scope = fields.Integer()
    current = fields.Boolean()


class SectorClearanceSchema(Schema):
    """清零 counts for one sector flag (sector null: all enterprises)."""

    sector = fields.String(allow_none=True)
    enterprises = fields.Integer()
    inspected = fields.Integer()
    cleared = fields.Integer()
    #: Cleared only by an inspection still awaiting review: 待审核, not counted in ``cleared``.
    pending_review = fields.Integer()


class HazardCountSchema(Schema):
    """How many hazards have one level and state."""

    level = fields.String()
    state = fields.String()
    count = fields.Integer()


class DeviceSyncSchema(Schema):
    """A device and its last sync."""

    device_id = fields.UUID()
    user = fields.String()
    label = fields.String(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    last_seq = fields.Integer()
    revoked = fields.Boolean()
    quarantined = fields.Integer()


class DashboardSchema(Schema):
    """The overview."""

    today = fields.Date()
    campaign = fields.String(allow_none=True)
    coverage = fields.List(fields.Nested(PhaseCoverageSchema))
    clearance = fields.List(fields.Nested(SectorClearanceSchema))
    hazards = fields.List(fields.Nested(HazardCountSchema))
    overdue = fields.Integer()
    listed = fields.Integer()
    stop_production = fields.Integer()
    #: Hazards found outside the campaign's days: listed apart, not in the figures above.
    found_before_campaign = fields.Integer()
    found_after_campaign = fields.Integer()
    devices = fields.List(fields.Nested(DeviceSyncSchema))
    quarantined = fields.Integer()


@blp.route("", methods=["GET"])
@blp.response(200, DashboardSchema)
def get_dashboard() -> dict[str, Any]:
    """Coverage per phase, 清零 by sector, hazards by level and state, devices and quarantine."""

    zone = clock.zone()
    d = oversight.dashboard(
        db.session,
        supervisor_user(),
        clock.today(zone),
        zone,
        clearance_cache(),
        dashboard_cache(),
        contribution_cache(),
    )
    return {
        "today": d.today,
        "campaign": d.campaign.name if d.campaign else None,
        "coverage": [
            {"code": c.phase.code, "name": c.phase.name, "starts_on": c.phase.starts_on, "ends_on": c.phase.ends_on,
             "inspected": c.inspected, "in_scope": c.in_scope, "current": c.current}
            for c in d.coverage
        ],
        "clearance": [
            {"sector": s.sector.value if s.sector else None, "enterprises": s.enterprises, "inspected": s.inspected,
             "cleared": s.cleared, "pending_review": s.pending}
            for s in d.sectors
        ],
        "hazards": [{"level": lv.value, "state": st.value, "count": n} for (lv, st), n in d.hazards.by_level_state.items()],
        "overdue": d.hazards.overdue,
        "listed": d.hazards.listed,
        "stop_production": d.hazards.stop_production,
        "found_before_campaign": d.hazards.before_campaign,
        "found_after_campaign": d.hazards.after_campaign,
        "devices": [
            {"device_id": r.device.id, "user": r.user.display_name, "label": r.device.label,
             "last_seen_at": r.device.last_seen_at, "last_seq": r.device.last_seq,
             "revoked": r.device.revoked_at is not None, "quarantined": r.quarantined}
            for r in d.devices
        ],
        "quarantined": d.quarantined,
    }  # fmt: skip
