"""The map points' JSON shape, shared by the map API and the supervisors' map page."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump, validate

from server.services.mapclusters import LAYERS, MapView
from server.services.mappoints import MapPoint, PointKind


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


class MapClusterSchema(Schema):
    """The points of one layer in one grid cell, drawn as one counted circle in the layer's colour."""

    layer = fields.String(validate=validate.OneOf(LAYERS))
    lat = fields.Float()
    lon = fields.Float()
    count = fields.Integer(metadata={"description": "points of this layer in this cell"})
    overdue = fields.Integer(metadata={"description": "overdue hazards among them (0 for other layers)"})


class MapViewSchema(MapPointsSchema):
    """The points inside the requested box, or, above ``cluster_above`` of them, clusters per grid cell."""

    clusters = fields.List(fields.Nested(MapClusterSchema))
    clustered = fields.Boolean()
    total = fields.Integer(
        metadata={"description": "located points inside the box (the clusters' counts add up to it)"}
    )
    cluster_above = fields.Integer()


def point_dict(point: MapPoint) -> dict[str, Any]:
    """``MapPointSchema().dump(point)`` without marshmallow's per-field cost (a province has 50,000 points)."""
    hazard = point.kind == PointKind.hazard
    data: dict[str, Any] = {
        "kind": point.kind.value,
        "id": str(point.id),
        "enterprise_id": str(point.enterprise_id),
        "enterprise_name": point.enterprise_name,
        "lat": point.lat,
        "lon": point.lon,
        "approximate": point.approximate,
    }
    optional = {
        "inspection_kind": point.inspection_kind,
        "status": point.status,
        "started_at": None if point.started_at is None else point.started_at.isoformat(),
        "level": point.level,
        "state": point.state,
        "overdue": point.overdue if hazard else None,
        "listed": point.listed if hazard else None,
        "deadline": None if point.deadline is None else point.deadline.isoformat(),
        "place": point.place,
        "description": point.description,
    }
    data.update((key, value) for key, value in optional.items() if value is not None)
    return data


def view_dict(view: MapView, cluster_above: int) -> dict[str, Any]:
    """A ``MapViewSchema`` document of ``view``, built from plain dicts."""
    return {
        "points": [point_dict(p) for p in view.points],
        "clusters": [
            {"layer": c.layer, "lat": c.lat, "lon": c.lon, "count": c.count, "overdue": c.overdue}
            for c in view.clusters
        ],
        "clustered": view.clustered,
        "total": view.total,
        "cluster_above": cluster_above,
        "inspection_limit": view.inspection_limit,
        "inspections_truncated": view.inspections_truncated,
    }
