"""Marshmallow schemas shared by the API blueprints."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from sync.protocol import ProblemSchema

__all__ = [
    "DecimalString",
    "LoginSchema",
    "PasswordChangeSchema",
    "ProblemSchema",
    "RegionSchema",
    "SessionSchema",
    "UserSchema",
]


#: How a money amount travels: exact decimal digits as a string, never a binary float ("1200.50", "-3.00").
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class DecimalString(fields.Decimal):
    """A decimal sent and documented as a string of digits (JSON numbers would lose cents to floating point)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": DECIMAL_PATTERN, "example": "1200.50", **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, metadata=metadata, **kwargs)


class RegionSchema(Schema):
    """A region in a user's scope."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String()


class UserSchema(Schema):
    """The signed-in user as the client sees it."""

    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    region = fields.Nested(RegionSchema, allow_none=True)
    enterprise_id = fields.UUID(allow_none=True)
    badge_no = fields.String(allow_none=True)


class LoginSchema(Schema):
    """Credentials for signing in."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class PasswordChangeSchema(Schema):
    """The current password and the new one."""

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)
    new_password = fields.String(required=True, validate=validate.Length(min=8, max=256), load_only=True)


class SessionSchema(Schema):
    """The result of signing in: who, and the CSRF token to send with unsafe requests."""

    user = fields.Nested(UserSchema)
    csrf_token = fields.String()
