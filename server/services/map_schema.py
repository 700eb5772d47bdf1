"""The map points' JSON shape, shared by the map API and the supervisors' map page."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump

from server.services.mappoints import PointKind


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
