"""The sync contract as marshmallow schemas: push, pull and blob messages (see sync/examples/)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

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


_MUTATION_KEYS = frozenset(MutationSchema().fields)
_AT = MutationSchema().fields["at"]
#: The time's own conversion: a str needs no more of Field.deserialize than that, the field having no validator
#: (calling an empty chain of them was a quarter of this path's cost).
_AT_FROM_TEXT = _AT._deserialize if not _AT.validators else _AT.deserialize


def _quick_mutation(value: Any) -> dict[str, Any] | None:
    """A mutation of the usual shape loaded as MutationSchema loads it, or None when the schema itself must
    decide (anything unusual, invalid or not, takes the schema's path and gets its exact messages)."""
    if type(value) is not dict or not value.keys() <= _MUTATION_KEYS:
        return None
    seq, entity, op, base = value.get("seq"), value.get("entity"), value.get("op"), value.get("base_version")
    data, text_id, at = value.get("data", {}), value.get("id"), value.get("at")
    if not (
        type(seq) is int and 1 <= seq <= 2**62 and type(entity) is str and 1 <= len(entity) <= 32
        and op in ("upsert", "delete") and (base is None or (type(base) is int and 0 <= base <= 2**31 - 1))
        and type(data) is dict and all(type(k) is str for k in data) and type(text_id) is str
        and type(at) is str
    ):  # fmt: skip
        return None
    try:
        parsed_id = uuid.UUID(text_id)
        parsed_at = _AT_FROM_TEXT(at, "at", value)
    except (ValueError, ValidationError):
        return None
    return {"seq": seq, "entity": entity, "id": parsed_id, "op": op, "base_version": base, "data": dict(data),
            "at": parsed_at}  # fmt: skip


class MutationList(fields.List):
    """A list of MutationSchema: the usual mutations are checked without the schema machinery (a push of
    hundreds of them spends most of its parsing there); a list holding any other goes through it whole."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(MutationSchema), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list):
            loaded = [_quick_mutation(item) for item in value]
            if all(item is not None for item in loaded):
                return loaded
        return list(super()._deserialize(value, attr, data, **kwargs))


class PullQuerySchema(Schema):
    """Where to continue pulling from, and how much."""

    cursor = fields.String(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


class PushRequestSchema(Schema):
    """A batch of a device's outbox, in seq order; ``pull`` (optional) asks for the pull page that follows it."""

    device_id = fields.UUID(required=True)
    schema = fields.Integer(required=True, strict=True)
    mutations = MutationList(required=True)
    pull = fields.Nested(
        PullQuerySchema,
        load_default=None,
        metadata={
            "description": "the device's pull cursor and page size: the reply then carries the page a pull made "
            "right after this push would answer (`pull`), so the device need not pull (DESIGN §4)"
        },
    )


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


class ChangeSchema(Schema):
    """One row a device should hold (or drop, when deleted)."""

    entity = fields.String(required=True)
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)
    data = fields.Dict(allow_none=True, load_default=None)


#: Each reply field's exact type on the quick dump's path (None allowed where listed); anything else takes the
#: schema's own path. Keys in the schemas' declared order, as marshmallow dumps them.
_RESULT_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,), "status": (str,), "code": (str, type(None)), "message": (str, type(None)),
    "version": (int, type(None)),
}  # fmt: skip
_CHANGE_TYPES: dict[str, tuple[type, ...]] = {
    "entity": (str,), "id": (str,), "version": (int,), "deleted": (bool,), "data": (dict, type(None)),
}  # fmt: skip
_CHANGE_KEYS = tuple(_CHANGE_TYPES)
_MISSING = object()


def _quick_row(row: Any, types: dict[str, tuple[type, ...]]) -> dict[str, Any] | None:
    """``row`` as its nested schema dumps it (declared keys present in it, in order; a dict copied), or None
    when a value is not of its exact type (bool is not an int here) and the schema must convert it."""
    if type(row) is not dict:
        return None
    out: dict[str, Any] = {}
    for key, allowed in types.items():
        value = row.get(key, _MISSING)
        if value is _MISSING:
            continue
        if type(value) not in allowed:
            return None
        out[key] = dict(value) if type(value) is dict else value
    return out


def _quick_rows(rows: Any, types: dict[str, tuple[type, ...]]) -> list[dict[str, Any]] | None:
    """Every row of ``rows`` through ``_quick_row``, or None when one of them needs the schema."""
    if type(rows) is not list:
        return None
    out = []
    for row in rows:
        quick = _quick_row(row, types)
        if quick is None:
            return None
        out.append(quick)
    return out


def _quick_pull_reply(reply: Any) -> dict[str, Any] | None:
    """A pull reply of the usual shape as PullReplySchema dumps it, or None (the schema's path)."""
    if type(reply) is not dict:
        return None
    out: dict[str, Any] = {}
    if "changes" in reply:
        changes = _quick_rows(reply["changes"], _CHANGE_TYPES)
        if changes is None:
            return None
        out["changes"] = changes
    for key, kind in (("cursor", str), ("has_more", bool), ("reset", bool)):
        if key in reply:
            if type(reply[key]) is not kind:
                return None
            out[key] = reply[key]
    return out


def _quick_push_reply(reply: Any) -> dict[str, Any] | None:
    """A push reply of the usual shape as PushReplySchema dumps it, or None (the schema's path)."""
    if type(reply) is not dict:
        return None
    out: dict[str, Any] = {}
    if "device_id" in reply:
        if type(reply["device_id"]) is not uuid.UUID:
            return None
        out["device_id"] = str(reply["device_id"])
    if "last_seq" in reply:
        if type(reply["last_seq"]) is not int:
            return None
        out["last_seq"] = reply["last_seq"]
    if "results" in reply:
        results = _quick_rows(reply["results"], _RESULT_TYPES)
        if results is None:
            return None
        out["results"] = results
    if "pull" in reply:
        page = None if reply["pull"] is None else _quick_pull_reply(reply["pull"])
        if page is None:
            return None
        out["pull"] = page
    return out


class ChangeEncoder:
    """Each pull message's JSON text as a JSON reply with these settings (compact) writes it within the pull
    reply, so that the reply is joined from the texts instead of being dumped again whole."""

    def __init__(self, *, ensure_ascii: bool, sort_keys: bool) -> None:
        # No fallback for values JSON lacks: a message holding one takes the schema and provider's own path.
        self._encoder = json.JSONEncoder(
            ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":")
        )

    def __call__(self, message: dict[str, Any]) -> str | None:
        """The message's text; None for a message of an unusual shape (PullReplySchema's own path then
        decides how it travels)."""
        if type(message) is not dict or tuple(message) != _CHANGE_KEYS:
            return None
        for key, allowed in _CHANGE_TYPES.items():
            if type(message[key]) not in allowed:
                return None
        try:
            return self._encoder.encode(message)
        except TypeError:
            return None

    def page(self, page: Any) -> str:
        """The pull reply's JSON text for a page whose changes are encoded (engine.PullPage): keys in the order
        PullReplySchema's dump gives them, which is also their sorted order."""
        flag = ("false", "true")
        return (
            f'{{"changes":[{",".join(page.encoded)}],"cursor":{self._encoder.encode(page.cursor)},'
            f'"has_more":{flag[page.has_more]},"reset":{flag[page.reset]}}}'
        )

    def with_page(self, dumped: dict[str, Any], key: str, text: str) -> str | None:
        """A dumped reply's JSON text with ``text`` as the value of ``key``, added last (where the schema
        declares it) or in sorted place; None when a value is not one JSON writes."""
        items = [*dumped.items(), (key, None)]
        if self._encoder.sort_keys:
            items.sort(key=lambda item: item[0])
        try:
            parts = [
                f"{self._encoder.encode(name)}:{text if name == key else self._encoder.encode(value)}"
                for name, value in items
            ]
        except TypeError:
            return None
        return "{" + ",".join(parts) + "}"


class PullReplySchema(Schema):
    """A page of changes in change-number order, the cursor to continue from, and whether more wait.

    ``reset`` is true when the server restarted the device's replica from zero (its scope changed or
    the cursor was unknown): the client must drop its replicated rows (never its outbox) before applying.
    """

    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)
    reset = fields.Boolean(required=True)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """As the schema dumps it, without its per-field work for the usual shape (a page holds hundreds of
        changes); any other shape takes marshmallow's own path."""
        quick = None if many else _quick_pull_reply(obj)
        return super().dump(obj, many=many) if quick is None else quick


class PushReplySchema(Schema):
    """The server's answer: the device it applied for, its new last_seq and a result per mutation.

    A client drops outbox entries up to ``last_seq`` only after checking that ``device_id`` is its own.
    """

    device_id = fields.UUID(required=True)
    last_seq = fields.Integer(required=True)
    results = fields.List(fields.Nested(MutationResultSchema), required=True)
    pull = fields.Nested(
        PullReplySchema,
        metadata={
            "description": "present when the push asked for it and the device may pull: the page a pull with the "
            "push's `pull` cursor and limit, made right after the push committed, answers"
        },
    )

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """As the schema dumps it, without its per-field work for the usual shape (a result per mutation);
        any other shape takes marshmallow's own path."""
        quick = None if many else _quick_push_reply(obj)
        return super().dump(obj, many=many) if quick is None else quick


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
