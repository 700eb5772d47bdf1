"""Device registration: an installed app exchanges a signed-in session for a bearer token."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server import security
from server.api.access import current_user, signed_in
from server.api.schemas import ProblemSchema
from server.domain.roles import Role
from server.extensions import db
from server.models import Device
from server.services import audit
from server.services.devices import register_device, reinstate_device, revoke_device
from server.services.users import may_manage
from sync import problems

blp = Blueprint("devices", __name__, url_prefix="/api/devices", description="Devices / 设备")


class DevicePublicKeySchema(Schema):
    """An ECDSA P-256 public key as a JWK (made with WebCrypto, private key non-extractable)."""

    kty = fields.String(required=True, validate=validate.Length(max=8))
    crv = fields.String(required=True, validate=validate.Length(max=16))
    x = fields.String(required=True, validate=validate.Length(max=64))
    y = fields.String(required=True, validate=validate.Length(max=64))


class DeviceRegistrationSchema(Schema):
    """What an app sends to register itself."""

    device_id = fields.UUID(load_default=None)
    public_key = fields.Nested(DevicePublicKeySchema, load_default=None)
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class DeviceSchema(Schema):
    """A registered device."""

    id = fields.UUID()
    user_id = fields.Integer()
    label = fields.String(allow_none=True)
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime(allow_none=True)
    last_seq = fields.Integer()
    revoked_at = fields.DateTime(allow_none=True)


class DeviceTokenSchema(Schema):
    """The registered device and its bearer token (shown once: the server keeps only its hash)."""

    device = fields.Nested(DeviceSchema)
    token = fields.String()


@blp.route("", methods=["POST"])
@blp.arguments(DeviceRegistrationSchema)
@blp.response(201, DeviceTokenSchema)
@blp.alt_response(401, schema=ProblemSchema)
@signed_in
def register(payload: dict[str, Any]) -> dict[str, Any]:
    """Register this app for the signed-in user; returns the bearer token for sync."""
    device, token = register_device(
        db.session,
        g.user,
        device_id=payload.get("device_id"),
        public_key_jwk=payload.get("public_key"),
        label=payload.get("label"),
        user_agent=request.headers.get("User-Agent"),
    )
    audit.record(db.session, g.user, "device.register", "device", device.id, {"label": device.label})
    db.session.commit()
    return {"device": device, "token": token}


@blp.route("", methods=["GET"])
@blp.response(200, DeviceSchema(many=True))
def list_devices() -> list[Device]:
    """The caller's own devices (all devices for an admin)."""
    user = current_user()
    query = db.select(Device).order_by(Device.created_at)
    if user.role != Role.admin:
        query = query.where(Device.user_id == user.id)
    return list(db.session.scalars(query))


@blp.route("/<uuid:device_id>/revoke", methods=["POST"])
@blp.response(200, DeviceSchema)
@blp.alt_response(404, schema=ProblemSchema)
def revoke(device_id: uuid.UUID) -> Device:
    """Revoke a device (lost, stolen): its owner, the owner's supervisor or an admin; the owner's sessions end."""
    user = current_user()
    device = db.session.get(Device, device_id)
    if device is None or not may_manage(db.session, user, device.user):
        raise problems.not_found()
    revoke_device(db.session, device, by=user, keep_session=security.current_session_id())
    db.session.commit()
    return device


@blp.route("/<uuid:device_id>/reinstate", methods=["POST"])
@blp.response(200, DeviceSchema)
@blp.alt_response(404, schema=ProblemSchema)
@signed_in
def reinstate(device_id: uuid.UUID) -> Device:
    """Let a revoked device id register again (admin only; the user then signs in on it for a new token)."""
    device = db.session.get(Device, device_id)
    if device is None or g.user.role != Role.admin:
        raise problems.not_found()
    reinstate_device(db.session, device, by=g.user)
    db.session.commit()
    return device
