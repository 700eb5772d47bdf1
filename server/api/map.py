"""Points for the supervisors' map: enterprises, recent inspections and open hazards in the caller's scope."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server import clock
from server.api.access import current_user
from server.api.schemas import ProblemSchema
from server.caches import map_layers_cache
from server.domain.roles import SUPERVISOR_ROLES
from server.extensions import db
from server.services.map_schema import MapViewSchema, view_dict
from server.services.mapclusters import map_view
from server.services.mappoints import Box, PointKind
from sync import problems

blp = Blueprint("map", __name__, url_prefix="/api/map", description="Map points / 地图点位")


class MapQuerySchema(Schema):
    """Which kind of point to return (all kinds when absent)."""

    kind = fields.String(load_default=None, validate=validate.OneOf([k.value for k in PointKind]))
    south = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    west = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    north = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    east = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    zoom = fields.Integer(
        load_default=None,
        validate=validate.Range(0, 22),
        metadata={"description": "the map's zoom: the size of the cells points are clustered in"},
    )

    @validates_schema
    def _whole_box(self, data: dict[str, Any], **_: Any) -> None:
        sides = [data.get(k) for k in ("south", "west", "north", "east")]
        given = [v for v in sides if v is not None]
        if not given:
            return
        if len(given) < 4:
            raise ValidationError("south, west, north and east go together")
        south, west, north, east = given
        if south > north or west > east:
            raise ValidationError("south ≤ north and west ≤ east")


@blp.route("/points", methods=["GET"])
@blp.arguments(MapQuerySchema, location="query")
@blp.response(200, MapViewSchema)
@blp.alt_response(404, schema=ProblemSchema)
def list_points(args: dict[str, Any]) -> Response:
    """Enterprises, the most recent inspections and the open hazards in the caller's scope.

    For supervisors, city supervisors and admins (404 for everyone else); ``inspections_truncated`` tells
    when older inspections were left out. With a box (south, west, north, east) only what lies inside;
    above ``cluster_above`` points, ``clusters`` (counts per grid cell of the zoom, per layer) instead.
    """
    user = current_user()
    if user.role not in SUPERVISOR_ROLES:
        raise problems.not_found()
    kinds = [PointKind(args["kind"])] if args.get("kind") else list(PointKind)
    box = (
        Box(args["south"], args["west"], args["north"], args["east"])
        if args.get("south") is not None
        else None
    )
    view = map_view(
        db.session,
        user,
        kinds=kinds,
        today=clock.today(),
        box=box,
        zoom=args.get("zoom"),
        cluster_above=current_app.config["MAP_CLUSTER_ABOVE"],
        kept=map_layers_cache(),
    )
    # Plain dicts: marshmallow's per-field dump was 6 of a province's 10 seconds; the schema documents it.
    return jsonify(view_dict(view, current_app.config["MAP_CLUSTER_ABOVE"]))
