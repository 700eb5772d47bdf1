"""Points for the supervisors' map: enterprises, recent inspections and open hazards in the caller's scope."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, post_dump, validate

from server import clock
from server.api.access import current_user
from server.api.schemas import ProblemSchema
from server.extensions import db
from server.services.mappoints import MapPoints, PointKind, map_points
from server.web.access import SUPERVISOR_ROLES
from sync import problems

blp = Blueprint("map", __name__, url_prefix="/api/map", description="Map points / 地图点位")


class MapPointSchema(Schema):
    """A point of the map; lat/lon are null when neither the record nor its enterprise has a location.

    Fields that do not apply to the point's kind, or are empty, are left out: a county has thousands of
    points, and the nulls would be a third of the payload.
    """

    kind = fields.Enum(PointKind, by_value=True)
    id = fields.UUID()
    enterprise_id = fields.UUID()
    enterprise_name = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    approximate = fields.Boolean(
        metadata={"description": "drawn at the enterprise's registered location, not where it was recorded"}
    )
    inspection_kind = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    level = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    overdue = fields.Boolean()
    listed = fields.Boolean()
    deadline = fields.Date(allow_none=True)
    place = fields.String(allow_none=True)
    description = fields.String(allow_none=True)

    @post_dump
    def _leave_out_empty(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        hazard = data.get("kind") == PointKind.hazard.value
        return {
            key: value
            for key, value in data.items()
            if key in _ALWAYS or (value is not None and (hazard or key not in _HAZARD_FLAGS))
        }


#: Kept even when null: a point without coordinates is listed as 无坐标, not dropped.
_ALWAYS = frozenset({"lat", "lon"})
_HAZARD_FLAGS = frozenset({"overdue", "listed"})


class MapPointsSchema(Schema):
    """The map's points; only the latest ``inspection_limit`` inspections are included."""

    points = fields.List(fields.Nested(MapPointSchema))
    inspection_limit = fields.Integer()
    inspections_truncated = fields.Boolean()


class MapQuerySchema(Schema):
    """Which kind of point to return (all kinds when absent)."""

    kind = fields.String(load_default=None, validate=validate.OneOf([k.value for k in PointKind]))


@blp.route("/points", methods=["GET"])
@blp.arguments(MapQuerySchema, location="query")
@blp.response(200, MapPointsSchema)
@blp.alt_response(404, schema=ProblemSchema)
def list_points(args: dict[str, Any]) -> MapPoints:
    """Enterprises, the most recent inspections and the open hazards in the caller's scope.

    For supervisors, city supervisors and admins (404 for everyone else); ``inspections_truncated`` tells
    when older inspections were left out.
    """
    user = current_user()
    if user.role not in SUPERVISOR_ROLES:
        raise problems.not_found()
    kinds = [PointKind(args["kind"])] if args.get("kind") else list(PointKind)
    return map_points(db.session, user, kinds=kinds, today=clock.today())
