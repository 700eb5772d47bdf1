"""The ``expert_opinion`` entity: an expert's 专家检查意见 written on the inspection's tablet while the inspection is
a draft; sealed with it (server.domain.expert_opinions), never changed after it is submitted."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from server.domain.roles import Role
from server.models import ExpertOpinion, Hazard, Inspection, User
from server.models.base import utcnow
from server.sync_handlers.common import (
    bump_version,
    catalogue_codes,
    find,
    load_data,
    of_visible_inspection,
    own_inspection,
    prefetch_rows,
    require_draft,
)
from server.sync_handlers.common import created as created_row
from server.sync_handlers.principal import scope_of
from server.sync_handlers.pull_rows import PulledColumns, named
from sync import problems
from sync.engine import Change, Mutation
from sync.principal import Principal
from sync.protocol import SHA256_RE


class OpinionItemSchema(Schema):
    """One line of the 问题隐患和整改建议清单, linked to a finding of the inspection (an item, a hazard, or both)."""

    item_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))
    hazard_id = fields.UUID(load_default=None, allow_none=True)
    problem = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    suggestion = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class SignatureSchema(Schema):
    """The expert's handwritten signature: its image's hash (uploaded as a blob) and when it was made."""

    sha256 = fields.String(required=True, validate=validate.Regexp(SHA256_RE))
    at = fields.AwareDateTime(required=True)


class ExpertOpinionDataSchema(Schema):
    """What a device writes on an expert opinion."""

    inspection_id = fields.UUID(required=True)
    expert_user_id = fields.Integer(load_default=None, allow_none=True)
    expert_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    opinion = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    items = fields.List(fields.Nested(OpinionItemSchema), validate=validate.Length(max=200))
    signature = fields.Nested(SignatureSchema, allow_none=True)
    signed_at = fields.AwareDateTime(allow_none=True)


class ExpertOpinionHandler:
    """An opinion belongs to its inspection: written from the inspection's own device while it is a draft, by an
    expert who takes part in it, and sealed with it."""

    entity = "expert_opinion"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = ExpertOpinion.__table__
    writable_fields = frozenset(ExpertOpinionDataSchema().fields)
    schema = ExpertOpinionDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, ExpertOpinion, mutations)

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Create, change or (while the inspection is a draft) delete an opinion."""
        scope = scope_of(principal)
        if scope.role not in (Role.inspector, Role.expert, Role.admin):
            raise problems.forbidden()
        row = find(session, ExpertOpinion, mutation.id)
        created = row is None
        data = load_data(self.schema, mutation.data, creating=created)
        inspection = own_inspection(session, scope, row.inspection_id if row else data["inspection_id"])
        require_draft(inspection)
        if row is not None and data.get("inspection_id", row.inspection_id) != row.inspection_id:
            raise problems.invalid_mutation(reason="inspection_id cannot change")
        if mutation.op == "delete":
            if row is None:
                raise problems.missing_reference(entity="expert_opinion", id=mutation.id)
            row.deleted_at = utcnow()
            return bump_version(row, created)
        # Everything is checked before the row joins the session (a check's query would flush it half-built).
        name = data.get("expert_name", row.expert_name if row else None)
        user_id = data.get("expert_user_id", row.expert_user_id if row else None)
        _check_expert(session, inspection, name, user_id)
        items = _checked_items(session, inspection, data["items"]) if "items" in data else None
        if row is None:
            row = ExpertOpinion(id=mutation.id, inspection_id=inspection.id, created_by_id=scope.user_id,
                                received_at=utcnow(), items=[])  # fmt: skip
            created_row(session, row)
        if items is not None:
            row.items = items
        for key in ("expert_name", "expert_user_id", "opinion", "signed_at"):
            if key in data:
                setattr(row, key, data[key])
        if "signature" in data:
            signature = data["signature"]
            row.signature = None if signature is None else {"sha256": signature["sha256"],
                                                           "at": signature["at"].isoformat()}  # fmt: skip
        session.add(row)
        return bump_version(row, created)

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Opinions of the inspections the user may see."""
        scope = scope_of(principal)

        def visible() -> Any:
            return of_visible_inspection(ExpertOpinion.inspection_id, scope)

        return _OPINION_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, scope)
        )


_OPINION_PULL = PulledColumns(cast(sa.Table, ExpertOpinion.__table__), named(cast(sa.Table, ExpertOpinion.__table__), (
    "inspection_id", "expert_user_id", "expert_name", "opinion", "items", "signature", "signed_at",
)))  # fmt: skip


def _check_expert(session: Session, inspection: Inspection, name: str | None, user_id: int | None) -> None:
    """The opinion's author must be one of the inspection's experts (by account when given, else by name)."""
    experts = [p for p in inspection.participants if p.role == "expert"]
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise problems.missing_reference(entity="user", id=user_id)
        match = any(p.user_id == user_id for p in experts)
    else:
        match = any(p.name == name for p in experts)
    if not match:
        raise problems.invalid_mutation(
            reason="the expert must take part in the inspection (participant role expert)"
        )


def _checked_items(
    session: Session, inspection: Inspection, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The list's lines, each linked to this inspection's findings: a catalogue item and/or one of its hazards."""
    codes = catalogue_codes(session, inspection.catalogue_id)
    out = []
    for index, item in enumerate(items, start=1):
        code, hazard_id = item.get("item_code"), item.get("hazard_id")
        if code is None and hazard_id is None:
            raise problems.invalid_mutation(reason=f"line {index}: link it to a checklist item or a hazard")
        if code is not None and code not in codes:
            raise problems.invalid_mutation(
                reason=f"line {index}: item {code} is not in the inspection's catalogue"
            )
        if hazard_id is not None:
            hazard = find(session, Hazard, hazard_id)
            if hazard is None or hazard.inspection_id != inspection.id or hazard.deleted_at is not None:
                raise problems.invalid_mutation(
                    reason=f"line {index}: hazard {hazard_id} is not of this inspection"
                )
        out.append({"item_code": code, "hazard_id": str(hazard_id) if hazard_id else None,
                    "problem": item["problem"], "suggestion": item["suggestion"]})  # fmt: skip
    return out
