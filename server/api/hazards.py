"""Hazards in the caller's scope: the ledger, one hazard with its events, and supervisors' actions."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server import clock
from server.api.access import supervisor_user
from server.api.schemas import DecimalString, ProblemSchema
from server.domain.hazards import HazardLevel, HazardState
from server.domain.sectors import Sector
from server.extensions import db
from server.models import Hazard, HazardSource
from server.services import oversight
from server.services.hazards import SUPERVISOR_ACTIONS, supervise
from server.services.scope import visible_hazards
from sync import problems

blp = Blueprint("hazards", __name__, url_prefix="/api/hazards", description="Hazards / 隐患")


def _today() -> date:

    return clock.today()


class HazardEventSchema(Schema):
    """One event of a hazard's log."""

    id = fields.UUID()
    kind = fields.String()
    at = fields.DateTime()
    received_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    device_id = fields.UUID(allow_none=True)
    deadline = fields.Date(allow_none=True)
    comment = fields.String(allow_none=True)
    data = fields.Dict()


class HazardSchema(Schema):
    """A hazard as the ledger shows it."""

    id = fields.UUID()
    enterprise_id = fields.UUID()
    enterprise_name = fields.Function(lambda h: h.enterprise.name)
    inspection_id = fields.UUID(allow_none=True)
    source = fields.String()
    item_code = fields.String(allow_none=True)
    place = fields.String(allow_none=True)
    description = fields.String()
    level = fields.String()
    state = fields.String()
    deadline = fields.Date(allow_none=True)
    listed = fields.Boolean()
    stop_production = fields.Boolean()
    found_at = fields.DateTime()
    terms = fields.Dict()
    funds_yuan = DecimalString(allow_none=True)


class HazardDetailSchema(HazardSchema):
    """A hazard with the major-hazard fields and its event log."""

    level_reason = fields.String(allow_none=True)
    five_in_place = fields.Dict(allow_none=True)
    treatment_plan = fields.String(allow_none=True)
    reported_to_regulator_on = fields.Date(allow_none=True)
    reported_to_workers_congress_on = fields.Date(allow_none=True)
    supervision_level = fields.String(allow_none=True)
    supervision_no = fields.String(allow_none=True)
    events = fields.List(fields.Nested(HazardEventSchema))


class HazardQuerySchema(Schema):
    """Filters of the hazard ledger."""

    enterprise = fields.UUID(load_default=None)
    q = fields.String(load_default=None)
    sector = fields.Enum(Sector, by_value=True, load_default=None)
    level = fields.Enum(HazardLevel, by_value=True, load_default=None)
    state = fields.Enum(HazardState, by_value=True, load_default=None)
    source = fields.Enum(HazardSource, by_value=True, load_default=None)
    overdue = fields.Boolean(load_default=False)
    listed = fields.Boolean(load_default=False)
    open = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


class HazardPageSchema(Schema):
    """One page of the ledger."""

    items = fields.List(fields.Nested(HazardSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class HazardActionSchema(Schema):
    """A supervisor's action on a hazard."""

    action = fields.String(required=True, validate=validate.OneOf(sorted(SUPERVISOR_ACTIONS)))
    comment = fields.String(load_default=None, validate=validate.Length(max=4000))
    deadline = fields.Date(load_default=None)
    supervision_level = fields.String(load_default=None, validate=validate.Length(max=16))
    supervision_no = fields.String(load_default=None, validate=validate.Length(max=64))
    #: Acceptance: who completed the rectification (五定), and why a major hazard's incomplete 五到位 is accepted.
    completed_by = fields.String(load_default=None, validate=validate.Length(max=100))
    waiver = fields.String(load_default=None, validate=validate.Length(max=4000))


@blp.route("", methods=["GET"])
@blp.arguments(HazardQuerySchema, location="query")
@blp.response(200, HazardPageSchema)
def list_hazards(args: dict[str, Any]) -> dict[str, Any]:
    """Hazards in the caller's scope, filtered, nearest deadline first, 50 per page."""
    filters = oversight.HazardFilters(
        enterprise_id=args["enterprise"], q=args["q"], sector=args["sector"], level=args["level"],
        state=args["state"], source=args["source"], overdue=args["overdue"], listed=args["listed"],
        open_only=args["open"],
    )  # fmt: skip

    page = oversight.hazard_list(db.session, supervisor_user(), filters, _today(), clock.zone(), args["page"])
    return {"items": [h for h, _ in page.rows], "total": page.total, "page": page.page, "pages": page.pages}


def _hazard(hazard_id: uuid.UUID) -> Hazard:
    hazard = db.session.scalar(visible_hazards(db.session, supervisor_user()).where(Hazard.id == hazard_id))
    if hazard is None:
        raise problems.not_found()
    return hazard


@blp.route("/<uuid:hazard_id>", methods=["GET"])
@blp.response(200, HazardDetailSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_hazard(hazard_id: uuid.UUID) -> Hazard:
    """One hazard with its event log; 404 outside the caller's scope."""
    return _hazard(hazard_id)


@blp.route("/<uuid:hazard_id>/events", methods=["POST"])
@blp.arguments(HazardActionSchema)
@blp.response(201, HazardEventSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def act_on_hazard(payload: dict[str, Any], hazard_id: uuid.UUID) -> Any:
    """Accept or reject a reported rectification, extend a deadline, list, delist or close (audited)."""
    user = supervisor_user()
    hazard = _hazard(hazard_id)
    event = supervise(db.session, hazard, user, **payload)
    db.session.commit()
    return event
