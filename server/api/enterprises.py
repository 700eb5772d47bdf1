"""Enterprises in the caller's scope."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server.api.access import current_user
from server.api.schemas import ProblemSchema
from server.extensions import db
from server.models import Enterprise
from server.services.scope import visible_enterprises
from sync import problems

blp = Blueprint("enterprises", __name__, url_prefix="/api/enterprises", description="Enterprises / 企业")


class EnterpriseSchema(Schema):
    """An enterprise as clients see it."""

    id = fields.UUID()
    name = fields.String()
    credit_code = fields.String()
    address = fields.String(allow_none=True)
    region_id = fields.Integer()
    region_name = fields.Function(lambda e: e.region.name)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    sectors = fields.Function(lambda e: sorted(s.value for s in e.sectors))
    dust_workers = fields.Integer(allow_none=True)
    main_person = fields.String(allow_none=True)
    main_person_phone = fields.String(allow_none=True)
    qr_token = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class EnterpriseQuerySchema(Schema):
    """Filters for the enterprise list."""

    q = fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "name, credit code or address contains"},
    )


@blp.route("", methods=["GET"])
@blp.arguments(EnterpriseQuerySchema, location="query")
@blp.response(200, EnterpriseSchema(many=True))
def list_enterprises(args: dict[str, Any]) -> list[Enterprise]:
    """Enterprises the caller may see, by name."""
    query = visible_enterprises(db.session, current_user())
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        query = query.where(
            sa.or_(
                Enterprise.name.like(like), Enterprise.credit_code.like(like), Enterprise.address.like(like)
            )
        )
    return list(db.session.scalars(query.order_by(Enterprise.name)))


@blp.route("/<uuid:enterprise_id>", methods=["GET"])
@blp.response(200, EnterpriseSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_enterprise(enterprise_id: uuid.UUID) -> Enterprise:
    """One enterprise; 404 when it is outside the caller's scope."""
    query = visible_enterprises(db.session, current_user()).where(Enterprise.id == enterprise_id)
    enterprise = db.session.scalar(query)
    if enterprise is None:
        raise problems.not_found()
    return enterprise
