"""Checklist catalogues (read-only over the API; versions are added with `flask catalogue import`)."""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api.access import current_user
from server.api.schemas import ProblemSchema
from server.extensions import db
from server.models import Catalogue
from sync import problems

blp = Blueprint("catalogues", __name__, url_prefix="/api/catalogues", description="Catalogues / 检查目录")


class CatalogueItemSchema(Schema):
    """One check of a catalogue."""

    code = fields.String()
    ordinal = fields.Integer()
    section = fields.String()
    sector = fields.String()
    text = fields.String()
    legal_basis = fields.String(allow_none=True)
    default_level = fields.String()
    applies_when = fields.Dict()
    source = fields.String(allow_none=True)
    verification = fields.String()


class CatalogueSummarySchema(Schema):
    """A catalogue version without its items."""

    id = fields.UUID()
    code = fields.String()
    version = fields.Integer()
    title = fields.String()
    source = fields.String()
    notes = fields.String(allow_none=True)
    effective_from = fields.Date()
    effective_to = fields.Date(allow_none=True)
    five_terms = fields.List(fields.List(fields.String()))


class CatalogueSchema(CatalogueSummarySchema):
    """A catalogue version with its items."""

    items = fields.List(fields.Nested(CatalogueItemSchema))


@blp.route("", methods=["GET"])
@blp.response(200, CatalogueSummarySchema(many=True))
def list_catalogues() -> list[Catalogue]:
    """Every catalogue version, newest first."""
    current_user()
    query = db.select(Catalogue).order_by(Catalogue.code, Catalogue.version.desc())
    return list(db.session.scalars(query))


@blp.route("/<uuid:catalogue_id>", methods=["GET"])
@blp.response(200, CatalogueSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_catalogue(catalogue_id: uuid.UUID) -> Catalogue:
    """One catalogue version with all its items."""
    current_user()
    catalogue = db.session.get(Catalogue, catalogue_id)
    if catalogue is None:
        raise problems.not_found()
    return catalogue
