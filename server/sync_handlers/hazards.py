"""Hazards, ledger entries and hazard events as devices sync them: what may be written, how it is checked and applied, who sees it."""

from __future__ import annotations

import uuid
from typing import Any, cast

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from server.domain import limits
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind
from server.domain.roles import Role
from server.models import Device, Enterprise, Hazard, HazardEvent, HazardSource, Inspection
from server.models.base import utcnow
from server.services.hazards import append_event, new_hazard
from server.services.portal import hazard_released
from server.sync_handlers.common import (
    POSITIVE,
    REGULATOR_ROLES,
    SMALL_JSON,
    bump_version,
    catalogue_items,
    enterprise_visible,
    find,
    is_staged,
    json_size,
    load_data,
    own_inspection,
    prefetch_enterprises,
    prefetch_rows,
    require_draft,
    stage_insert,
    stage_runs,
    staging,
    stored_or_staged,
    unstage,
    visible_enterprise,
    write_staged,
)
from server.sync_handlers.common import created as created_row
from server.sync_handlers.principal import Scope, scope_of
from server.sync_handlers.pull_rows import PulledColumns, named
from sync import problems
from sync.engine import Change, Mutation
from sync.principal import Principal

# --- hazards -------------------------------------------------------------------------------------------


class HazardDataSchema(Schema):
    """What a device records about a hazard (its state comes from events only)."""

    enterprise_id = fields.UUID(required=True)
    inspection_id = fields.UUID(allow_none=True)
    item_code = fields.String(allow_none=True, validate=validate.Length(max=16))
    ledger_no = fields.String(allow_none=True, validate=validate.Length(max=32))
    place = fields.String(allow_none=True, validate=validate.Length(max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=limits.NOTE))
    level = fields.String(required=True, validate=validate.OneOf([lv.value for lv in HazardLevel]))
    level_reason = fields.String(allow_none=True, validate=validate.Length(max=limits.NOTE))
    found_at = fields.AwareDateTime(required=True)
    deadline = fields.Date(allow_none=True)
    terms = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), validate=json_size(SMALL_JSON))
    funds_yuan = fields.Decimal(allow_none=True, places=2, validate=POSITIVE)
    five_in_place = fields.Dict(
        allow_none=True, keys=fields.String(validate=validate.Length(max=64)), validate=json_size(SMALL_JSON)
    )
    treatment_plan = fields.String(allow_none=True, validate=validate.Length(max=limits.NOTE))
    reported_to_regulator_on = fields.Date(allow_none=True)
    reported_to_workers_congress_on = fields.Date(allow_none=True)
    stop_production = fields.Boolean()


_HAZARD_FIELDS = ("item_code", "ledger_no", "place", "description", "level_reason", "terms", "funds_yuan",
                  "five_in_place", "treatment_plan", "reported_to_regulator_on", "reported_to_workers_congress_on",
                  "stop_production")  # fmt: skip


#: What a device receives of a hazard (and of a ledger entry): these columns, under their own names.
_HAZARD_PULL = PulledColumns(cast(sa.Table, Hazard.__table__), named(cast(sa.Table, Hazard.__table__), (
    "enterprise_id", "inspection_id", "source", "item_code", "ledger_no", "place", "description", "level",
    "level_reason", "found_at", "terms", "funds_yuan", "five_in_place", "treatment_plan", "reported_to_regulator_on",
    "reported_to_workers_congress_on", "supervision_level", "supervision_no", "stop_production", "state", "deadline",
    "listed",
)))  # fmt: skip


def check_own_draft_hazard(session: Session, scope: Scope, hazard: Hazard) -> None:
    """Refuse unless ``hazard`` was found in an inspection this user created that is still a draft."""
    if hazard.source == HazardSource.self_ledger or hazard.inspection_id is None:
        raise problems.owned_elsewhere()
    inspection = own_inspection(session, scope, hazard.inspection_id)
    require_draft(inspection)


class HazardHandler:
    """Hazards found in an inspection: editable with their draft inspection, then only through events."""

    entity = "hazard"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = Hazard.__table__
    source = HazardSource.inspection
    writable_fields = frozenset(HazardDataSchema().fields)
    schema = HazardDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query; note the enterprises it names."""
        prefetch_rows(session, Hazard, mutations)
        prefetch_enterprises(session, mutations)

    def apply_many(self, session: Session, principal: Principal, mutations: list[Mutation]) -> list[int]:
        """apply() for each, new hazards and their 'found' events kept aside for finish_batch."""
        return stage_runs(session, self.apply, principal, mutations)

    def finish_batch(self, session: Session) -> None:
        """Insert the rows the batch kept aside."""
        write_staged(session)

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Record a hazard (with its 'found' event) or change one whose inspection is still a draft."""
        if scope_of(principal).role not in REGULATOR_ROLES:
            raise problems.forbidden()
        hazard = find(session, Hazard, mutation.id)
        created = hazard is None
        data = load_data(self.schema, mutation.data, creating=created)
        if hazard is None:
            hazard = self._create(session, principal, mutation, data)
        else:
            self._check_editable(session, principal, hazard)
            if data.get("enterprise_id", hazard.enterprise_id) != hazard.enterprise_id:
                raise problems.invalid_mutation(reason="enterprise_id cannot change")
            if "level" in data and data["level"] != hazard.level.value:
                raise problems.invalid_mutation(
                    reason="the level of a recorded hazard changes on the web, with a reason"
                )
            if mutation.op == "delete":
                hazard.deleted_at = utcnow()
            for key in _HAZARD_FIELDS:
                if key in data:
                    setattr(hazard, key, data[key])
        self._check_level(session, hazard)
        return bump_version(hazard, created)

    def _create(
        self, session: Session, principal: Principal, mutation: Mutation, data: dict[str, Any]
    ) -> Hazard:
        scope = scope_of(principal)
        enterprise = visible_enterprise(session, scope, data["enterprise_id"])
        source = self.source
        inspection = None
        if data.get("inspection_id"):
            inspection = own_inspection(session, scope, data["inspection_id"])
            require_draft(inspection)
            if inspection.enterprise_id != enterprise.id:
                raise problems.invalid_mutation(
                    reason="the hazard's enterprise differs from its inspection's"
                )
            if inspection.kind == InspectionKind.self_check:
                raise problems.forbidden()
            if inspection.kind == InspectionKind.city_sampling:
                source = HazardSource.city_sampling
        elif self.source == HazardSource.inspection:
            raise problems.invalid_mutation(reason="inspection_id is required")
        device = session.get(Device, principal.device_id)
        extra = {k: data[k] for k in _HAZARD_FIELDS if k in data and k != "description"}
        hazard = new_hazard(
            enterprise=enterprise, description=data["description"], level=HazardLevel(data["level"]),
            found_at=data["found_at"], deadline=data.get("deadline"), source=source, hazard_id=mutation.id,
            found_event_id=uuid.uuid5(mutation.id, "found"), device=device, actor=None,
            inspection_id=inspection.id if inspection else None, **extra,
        )  # fmt: skip
        if staging(session) and (inspection is None or stored_or_staged(session, inspection)):
            # Kept aside for write_staged, never added to the session.
            stage_insert(session, hazard)
            for event in hazard.events:
                stage_insert(session, event)
        else:
            session.add(hazard)  # and its 'found' event
            created_row(session, hazard)
        return hazard

    def _check_editable(self, session: Session, principal: Principal, hazard: Hazard) -> None:
        check_own_draft_hazard(session, scope_of(principal), hazard)
        if hazard.state is HazardState.withdrawn:
            raise problems.invalid_mutation(reason="the hazard was withdrawn; record a new one if needed")

    @staticmethod
    def _check_level(session: Session, hazard: Hazard) -> None:
        """A level other than the catalogue item's default needs a reason."""
        if not hazard.item_code or hazard.inspection_id is None:
            return
        inspection = find(session, Inspection, hazard.inspection_id)
        item = catalogue_items(session, inspection.catalogue_id).get(hazard.item_code) if inspection else None
        default = item.default_level if item is not None else None
        if default is not None and default != hazard.level and not (hazard.level_reason or "").strip():
            raise problems.invalid_mutation(
                reason=f"level {hazard.level.value} differs from the item's default {default.value}: give level_reason"
            )

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Hazards of enterprises in scope (an enterprise sees only those of submitted or approved inspections)."""
        scope = scope_of(principal)

        def visible() -> Any:
            in_scope = Hazard.enterprise_id.in_(sa.select(Enterprise.id).where(enterprise_visible(scope)))
            shown = sa.and_(in_scope, Hazard.source != HazardSource.self_ledger)
            return sa.and_(shown, hazard_released()) if scope.role == Role.enterprise else shown

        return _HAZARD_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, scope)
        )


class LedgerEntryHandler(HazardHandler):
    """An enterprise's own self-inspection ledger entry (隐患自查台账), kept as a self_ledger hazard."""

    entity = "ledger_entry"
    source = HazardSource.self_ledger

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Only an enterprise account writes its own ledger."""
        scope = scope_of(principal)
        if scope.role != Role.enterprise:
            raise problems.forbidden()
        hazard = find(session, Hazard, mutation.id)
        created = hazard is None
        data = load_data(self.schema, mutation.data, creating=created)
        if data.get("enterprise_id", scope.enterprise_id) != scope.enterprise_id:
            raise problems.owned_elsewhere()
        if data.get("inspection_id"):
            raise problems.invalid_mutation(reason="a ledger entry has no inspection")
        if hazard is None:
            hazard = self._create(session, principal, mutation, data)
        else:
            if hazard.source != HazardSource.self_ledger or hazard.enterprise_id != scope.enterprise_id:
                raise problems.owned_elsewhere()
            if mutation.op == "delete":
                hazard.deleted_at = utcnow()
            for key in _HAZARD_FIELDS:
                if key in data:
                    setattr(hazard, key, data[key])
        return bump_version(hazard, created)

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Self-inspection entries of enterprises in scope."""
        scope = scope_of(principal)

        def visible() -> Any:
            in_scope = Hazard.enterprise_id.in_(sa.select(Enterprise.id).where(enterprise_visible(scope)))
            return sa.and_(in_scope, Hazard.source == HazardSource.self_ledger)

        return _HAZARD_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, scope)
        )


class HazardEventDataSchema(Schema):
    """A step in a hazard's life, as recorded on a device."""

    hazard_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in HazardEventKind]))
    at = fields.AwareDateTime(required=True)
    deadline = fields.Date(allow_none=True)
    comment = fields.String(allow_none=True, validate=validate.Length(max=limits.COMMENT))
    data = fields.Dict(validate=json_size(SMALL_JSON))


#: Which events each role may record from a device; listing, extension and closure happen on the web.
#: An inspector withdraws only a hazard of their own draft inspection (checked in the handler).
DEVICE_EVENT_KINDS = {
    Role.inspector: frozenset({HazardEventKind.rectification_planned, HazardEventKind.rectification_reported,
                               HazardEventKind.accepted, HazardEventKind.rejected, HazardEventKind.withdrawn}),
    Role.enterprise: frozenset({HazardEventKind.rectification_planned, HazardEventKind.rectification_reported}),
}  # fmt: skip


class HazardEventHandler:
    """Events are append-only: the same event twice is a no-op, a changed one is refused."""

    entity = "hazard_event"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = HazardEvent.__table__
    writable_fields = frozenset(HazardEventDataSchema().fields)
    schema = HazardEventDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, HazardEvent, mutations)

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Append an event the state machine allows."""
        scope = scope_of(principal)
        data = load_data(self.schema, mutation.data, creating=True)
        existing = find(session, HazardEvent, mutation.id)
        if existing is not None:
            same = (existing.hazard_id, existing.kind.value, existing.at) == (
                data["hazard_id"],
                data["kind"],
                data["at"],
            )
            if not same:
                raise problems.invalid_mutation(reason="hazard events cannot change once recorded")
            return existing.row_version
        if mutation.op == "delete":
            raise problems.invalid_mutation(reason="hazard events cannot be deleted")
        kind = HazardEventKind(data["kind"])
        if kind not in DEVICE_EVENT_KINDS.get(scope.role, frozenset()):
            raise problems.forbidden()
        hazard = find(session, Hazard, data["hazard_id"])
        if hazard is None or not _may_see_hazard(session, scope, hazard):
            raise problems.missing_reference(entity="hazard", id=data["hazard_id"])
        visible_enterprise(session, scope, hazard.enterprise_id)
        if kind is HazardEventKind.withdrawn:
            check_own_draft_hazard(session, scope, hazard)
        kept_aside = is_staged(session, hazard)
        event = append_event(
            session, hazard, kind, data["at"], deadline=data.get("deadline"), comment=data.get("comment"),
            device=session.get(Device, principal.device_id), data=data.get("data"), event_id=mutation.id,
        )  # fmt: skip
        event.actor_id = scope.user_id
        if kind is HazardEventKind.withdrawn:
            # Out of every list and figure (they all leave deleted rows out); its log keeps who withdrew it and when.
            hazard.deleted_at = utcnow()
        created_row(session, event)
        if kept_aside:
            # The batch keeps the new hazard aside (write_staged); adding the event took it, and through it its
            # other events, into the session.
            unstage(session, hazard, *hazard.events)
        return event.row_version

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Events of hazards in scope (an enterprise's: of the hazards it may see)."""
        scope = scope_of(principal)

        def visible() -> Any:
            hazards = sa.select(Hazard.id).where(
                Hazard.enterprise_id.in_(sa.select(Enterprise.id).where(enterprise_visible(scope)))
            )
            if scope.role == Role.enterprise:
                hazards = hazards.where(hazard_released())
            return HazardEvent.hazard_id.in_(hazards)

        return _EVENT_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, scope)
        )


_EVENT_PULL = PulledColumns(cast(sa.Table, HazardEvent.__table__), named(cast(sa.Table, HazardEvent.__table__), (
    "hazard_id", "kind", "at", "deadline", "comment", "data", "received_at",
)))  # fmt: skip


def _may_see_hazard(session: Session, scope: Scope, hazard: Hazard) -> bool:
    """An enterprise acts only on hazards it may see: its ledger's, and those of submitted inspections."""
    if scope.role != Role.enterprise or hazard.source == HazardSource.self_ledger:
        return True
    return session.scalar(sa.select(Hazard.id).where(Hazard.id == hazard.id, hazard_released())) is not None
