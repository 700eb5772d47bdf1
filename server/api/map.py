"""Points for the supervisors' map: enterprises, recent inspections and open hazards in the caller's scope."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server import clock
from server.api.access import current_user
from server.api.schemas import ProblemSchema
from server.domain.roles import SUPERVISOR_ROLES
from server.extensions import db
from server.services.map_schema import MapPointsSchema
from server.services.mappoints import MapPoints, PointKind, map_points
from sync import problems

blp = Blueprint("map", __name__, url_prefix="/api/map", description="Map points / 地图点位")


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
