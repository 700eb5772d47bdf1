"""QR codes: the bureau's public key (for offline checks in the app) and server-side resolution."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api.access import current_user
from server.api.enterprises import EnterpriseSchema
from server.api.schemas import ProblemSchema
from server.extensions import db
from server.qrcodes.signing import public_jwk
from server.services import qr

blp = Blueprint("qr", __name__, url_prefix="/api/qr", description="QR codes / 企业二维码")


class QrPublicKeySchema(Schema):
    """The JWK the app verifies QR signatures with."""

    kty = fields.String()
    crv = fields.String()
    x = fields.String()
    y = fields.String()
    alg = fields.String()
    use = fields.String()


class ResolveSchema(Schema):
    """A scanned code's text."""

    payload = fields.String(required=True)


class ResolvedSchema(Schema):
    """The enterprise a genuine, current code stands for."""

    enterprise = fields.Nested(EnterpriseSchema)
    token = fields.String()


@blp.route("/public-key", methods=["GET"])
@blp.response(200, QrPublicKeySchema)
def public_key() -> dict[str, str]:
    """The bureau's QR signing public key (ECDSA P-256, JWK)."""
    return public_jwk(qr.signing_key())


@blp.route("/resolve", methods=["POST"])
@blp.arguments(ResolveSchema)
@blp.response(200, ResolvedSchema)
@blp.alt_response(400, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def resolve(args: dict[str, Any]) -> qr.Resolved:
    """Check a scanned code: forged, malformed, revoked and unknown codes are refused with the reason."""
    current_user()
    return qr.resolve(db.session, args["payload"])
