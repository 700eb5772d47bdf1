"""The sync contract as marshmallow schemas: push, pull and blob messages (see sync/examples/)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from marshmallow import Schema, fields, validate

#: Protocol version a client announces in every push; bump when a message changes incompatibly.
SCHEMA_VERSION = 1
SUPPORTED_SCHEMAS = frozenset({1})

SHA256_RE = r"^[0-9a-f]{64}\Z"


class ProblemSchema(Schema):
    """Every error body: a stable code and the message in zh-CN and English (sync/problems.py)."""

    code = fields.String(required=True, metadata={"example": "401.3"})
    message = fields.String(required=True)
    messages = fields.Dict(keys=fields.String(), values=fields.String())
    details = fields.Dict()


class MutationSchema(Schema):
    """One change made on a device: frozen once written to its outbox."""

    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**62))
    entity = fields.String(required=True, validate=validate.Length(min=1, max=32))
    id = fields.UUID(required=True)
    op = fields.String(required=True, validate=validate.OneOf(["upsert", "delete"]))
    base_version = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1)
    )
    data = fields.Dict(keys=fields.String(), load_default=dict)
    at = fields.AwareDateTime(required=True, metadata={"description": "device clock time of the change"})


class PushRequestSchema(Schema):
    """A batch of a device's outbox, in seq order."""

    device_id = fields.UUID(required=True)
    schema = fields.Integer(required=True, strict=True)
    mutations = fields.List(fields.Nested(MutationSchema), required=True)


class MutationResultSchema(Schema):
    """What happened to one mutation of a push."""

    seq = fields.Integer(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["applied", "duplicate", "quarantined", "not_processed"]),
        metadata={"description": "not_processed: after a gap; send it again once the gap is filled"},
    )
    code = fields.String(load_default=None, allow_none=True)
    message = fields.String(load_default=None, allow_none=True)
    version = fields.Integer(load_default=None, allow_none=True)


class PushReplySchema(Schema):
    """The server's answer: the device it applied for, its new last_seq and a result per mutation.

    A client drops outbox entries up to ``last_seq`` only after checking that ``device_id`` is its own.
    """

    device_id = fields.UUID(required=True)
    last_seq = fields.Integer(required=True)
    results = fields.List(fields.Nested(MutationResultSchema), required=True)


class PullQuerySchema(Schema):
    """Where to continue pulling from, and how much."""

    cursor = fields.String(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


class ChangeSchema(Schema):
    """One row a device should hold (or drop, when deleted)."""

    entity = fields.String(required=True)
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)
    data = fields.Dict(allow_none=True, load_default=None)


class PullReplySchema(Schema):
    """A page of changes in change-number order, the cursor to continue from, and whether more wait.

    ``reset`` is true when the server restarted the device's replica from zero (its scope changed or
    the cursor was unknown): the client must drop its replicated rows (never its outbox) before applying.
    """

    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)
    reset = fields.Boolean(required=True)


class BlobMissingRequestSchema(Schema):
    """The photos a device wants to upload."""

    sha256 = fields.List(
        fields.String(validate=validate.Regexp(SHA256_RE)), required=True, validate=validate.Length(max=1000)
    )


class BlobMissingReplySchema(Schema):
    """Those the server does not yet hold completely."""

    missing = fields.List(fields.String(), required=True)


class BlobStatusSchema(Schema):
    """The state of one upload."""

    sha256 = fields.String(required=True)
    received = fields.Integer(required=True)
    complete = fields.Boolean(required=True)


def canonical_json(value: Any) -> bytes:
    """The one serialisation hashed and signed everywhere: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def mutation_digest(raw_mutation: dict[str, Any]) -> str:
    """SHA-256 of a mutation as the device sent it, to tell a true duplicate from a reused seq."""
    return hashlib.sha256(canonical_json(raw_mutation)).hexdigest()
