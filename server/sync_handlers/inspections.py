"""Inspections and their answers as devices sync them: what may be written, how it is checked and applied, who sees it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import flag_modified

from server.domain import limits
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import ItemResultValue
from server.domain.inspections import MIN_INSPECTORS, InspectionKind, InspectionStatus
from server.models import (
    Device,
    Hazard,
    Inspection,
    InspectionParticipant,
    ItemResult,
    User,
)
from server.models.base import bare_row, utcnow
from server.services.seal import check_seal
from server.sync_handlers.common import (
    LAT,
    LON,
    POSITIVE,
    REGULATOR_KINDS,
    REGULATOR_ROLES,
    SIGNATURES_JSON,
    absent_ids,
    answer_ids,
    answer_rows,
    bump_version,
    cached,
    catalogue_codes,
    catalogue_exists,
    catalogue_items,
    find,
    inspection_visible,
    json_size,
    load_data,
    made_in_batch,
    of_visible_inspection,
    own_inspection,
    prefetch_enterprises,
    prefetch_rows,
    require_draft,
    stage_insert,
    stage_runs,
    staging,
    stored_or_staged,
    visible_enterprise,
    write_staged,
)
from server.sync_handlers.common import created as created_row
from server.sync_handlers.principal import scope_of
from server.sync_handlers.pull_rows import PulledColumns, named
from sync import problems
from sync.engine import Change, Mutation
from sync.principal import Principal
from sync.protocol import SHA256_RE

# --- inspections ---------------------------------------------------------------------------------------


class ParticipantSchema(Schema):
    """An inspector, expert or enterprise representative of an inspection."""

    role = fields.String(required=True, validate=validate.OneOf(["inspector", "expert", "enterprise_rep"]))
    user_id = fields.Integer(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    badge_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class InspectionDataSchema(Schema):
    """What a device may write on an inspection (review status and approvals are the server's)."""

    enterprise_id = fields.UUID(required=True)
    catalogue_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in InspectionKind]))
    status = fields.String(
        validate=validate.OneOf([InspectionStatus.draft.value, InspectionStatus.submitted.value])
    )
    started_at = fields.AwareDateTime(required=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    start_lat = fields.Float(allow_none=True, validate=LAT)
    start_lon = fields.Float(allow_none=True, validate=LON)
    start_accuracy_m = fields.Float(allow_none=True, validate=POSITIVE)
    end_lat = fields.Float(allow_none=True, validate=LAT)
    end_lon = fields.Float(allow_none=True, validate=LON)
    end_accuracy_m = fields.Float(allow_none=True, validate=POSITIVE)
    participants = fields.List(fields.Nested(ParticipantSchema))
    signatures = fields.List(fields.Dict(), validate=json_size(SIGNATURES_JSON))
    summary_note = fields.String(allow_none=True, validate=validate.Length(max=limits.NOTE))
    sealed_sha256 = fields.String(allow_none=True, validate=validate.Regexp(SHA256_RE))
    device_signature = fields.String(allow_none=True, validate=validate.Length(max=200))
    sealed_record = fields.String(allow_none=True, validate=validate.Length(max=limits.SEALED_RECORD))
    corrects_id = fields.UUID(allow_none=True)


class InspectionHandler:
    """An inspection belongs to the user who made it; once submitted it is sealed."""

    entity = "inspection"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = Inspection.__table__
    writable_fields = frozenset(InspectionDataSchema().fields)
    schema = InspectionDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query; note the enterprises it names."""
        prefetch_rows(session, Inspection, mutations)
        prefetch_enterprises(session, mutations)

    def apply_many(self, session: Session, principal: Principal, mutations: list[Mutation]) -> list[int]:
        """apply() for each, new inspections (and their participants) kept aside for finish_batch."""
        return stage_runs(session, self.apply, principal, mutations)

    def finish_batch(self, session: Session) -> None:
        """Insert the rows the batch kept aside."""
        write_staged(session)

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Create, update or (while a draft) delete an inspection."""
        scope = scope_of(principal)
        inspection = find(session, Inspection, mutation.id)
        created = inspection is None
        if inspection is not None:
            if inspection.created_by_id != scope.user_id:
                raise problems.owned_elsewhere()
            require_draft(inspection)
        if mutation.op == "delete":
            if inspection is None:
                raise problems.missing_reference(entity="inspection", id=mutation.id)
            inspection.deleted_at = utcnow()
            inspection.row_version += 1
            return inspection.row_version
        if scope.role not in REGULATOR_ROLES:
            raise problems.forbidden()
        data = load_data(self.schema, mutation.data, creating=inspection is None)
        if "kind" in data and data["kind"] not in REGULATOR_KINDS:
            raise problems.forbidden()
        if inspection is None:
            enterprise = visible_enterprise(session, scope, data["enterprise_id"])
            if not catalogue_exists(session, data["catalogue_id"]):
                raise problems.missing_reference(entity="catalogue", id=data["catalogue_id"])
            inspection = Inspection(
                id=mutation.id, enterprise=enterprise, kind=InspectionKind(data["kind"]),
                enterprise_id=enterprise.id, catalogue_id=data["catalogue_id"],
                status=InspectionStatus.draft, created_by_id=scope.user_id, device_id=principal.device_id,
                started_at=data["started_at"], received_at=utcnow(),
            )  # fmt: skip
            if staging(session):
                stage_insert(session, inspection)
            else:
                session.add(inspection)
                created_row(session, inspection)
        elif {"enterprise_id", "catalogue_id"} & data.keys() and (
            data.get("enterprise_id", inspection.enterprise_id) != inspection.enterprise_id
            or data.get("catalogue_id", inspection.catalogue_id) != inspection.catalogue_id
        ):
            raise problems.invalid_mutation(reason="enterprise_id and catalogue_id cannot change")
        for key in ("kind", "started_at", "finished_at", "start_lat", "start_lon", "start_accuracy_m", "end_lat",
                    "end_lon", "end_accuracy_m", "signatures", "summary_note", "sealed_sha256", "device_signature",
                    "sealed_record",
                    "corrects_id"):  # fmt: skip
            if key in data:
                setattr(inspection, key, InspectionKind(data[key]) if key == "kind" else data[key])
        if data.get("corrects_id"):
            corrected = own_inspection(session, scope, data["corrects_id"])
            if corrected.status == InspectionStatus.draft:
                raise problems.invalid_mutation(reason="only a submitted inspection can be corrected")
        for participant in data.get("participants", []):
            if participant.get("user_id") is not None and session.get(User, participant["user_id"]) is None:
                raise problems.missing_reference(entity="user", id=participant["user_id"])
        if "participants" in data:
            _replace_participants(inspection, data["participants"])
        if data.get("status") == InspectionStatus.submitted.value:
            self._submit(session, inspection)
        return bump_version(inspection, created)

    @staticmethod
    def _submit(session: Session, inspection: Inspection) -> None:
        """Seal the inspection: it needs its end, two inspectors and every applicable item answered."""
        inspectors = [p for p in inspection.participants if p.role == "inspector"]
        if len(inspectors) < MIN_INSPECTORS:
            raise problems.invalid_mutation(reason=f"at least {MIN_INSPECTORS} inspectors must take part")
        if inspection.finished_at is None:
            raise problems.invalid_mutation(reason="finished_at is required to submit")
        needed = _needed_codes(session, inspection)
        # The rows are held until the seal is checked: the identity map keeps rows only weakly.
        answers, _held = answer_rows(session, inspection.id)
        answered = {
            code for code, answer_id in answers.items()
            if (row := find(session, ItemResult, answer_id)) is not None and row.deleted_at is None
            and row.result != ItemResultValue.not_checked
        }  # fmt: skip
        missing = [code for code in needed if code not in answered]
        if missing:
            raise problems.invalid_mutation(reason=f"items not answered: {', '.join(missing)}")
        inspection.status = InspectionStatus.submitted
        inspection.submitted_received_at = utcnow()
        _release_findings(session, inspection)
        if inspection.sealed_record is not None:
            device = session.get(Device, inspection.device_id) if inspection.device_id else None
            stored = {
                code: str(getattr(find(session, ItemResult, i), "result", "")) for code, i in answers.items()
            }
            check = check_seal(
                record_text=inspection.sealed_record, sealed_sha256=inspection.sealed_sha256,
                signature=inspection.device_signature, jwk=device.public_key_jwk if device else None,
                inspection_id=str(inspection.id), results=stored,
            )  # fmt: skip
            inspection.seal_verified, inspection.seal_problem = check.verified, check.problem

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """The user's own inspections (a supervisor's: the region's), with their review status."""
        scope = scope_of(principal)
        return _INSPECTION_PULL.changes(session, self.entity, lambda: inspection_visible(scope), after, upto, limit,
                                        _fill_participants, key=(self.entity, scope))  # fmt: skip


_INSPECTION_TABLE = cast(sa.Table, Inspection.__table__)
#: What a device receives of an inspection; its participants come from their own table (_fill_participants).
_INSPECTION_PULL = PulledColumns(_INSPECTION_TABLE, [
    *named(_INSPECTION_TABLE, ("enterprise_id", "catalogue_id", "kind", "status", "started_at", "finished_at",
                               "received_at", "start_lat", "start_lon", "start_accuracy_m", "end_lat", "end_lon",
                               "end_accuracy_m")),
    ("participants", None),
    *named(_INSPECTION_TABLE, ("signatures", "summary_note", "sealed_sha256", "device_signature", "corrects_id")),
])  # fmt: skip
_PARTICIPANTS = cast(sa.Table, InspectionParticipant.__table__)


def _fill_participants(session: Session, page: dict[Any, dict[str, Any]]) -> None:
    """The participants of the page's inspections, in their order, in one query."""
    for data in page.values():
        data["participants"] = []
    p = _PARTICIPANTS.c
    rows = session.execute(
        sa.select(p.inspection_id, p.role, p.user_id, p.name, p.badge_no)
        .where(p.inspection_id.in_(list(page)))
        .order_by(p.inspection_id, p.ordinal)
    )
    for inspection_id, role, user_id, name, badge_no in rows:
        page[inspection_id]["participants"].append(
            {"role": role, "user_id": user_id, "name": name, "badge_no": badge_no}
        )


def _needed_codes(session: Session, inspection: Inspection) -> list[str]:
    """The codes of the catalogue items that apply to the inspection's enterprise, in catalogue order (worked out
    once per batch for each enterprise and catalogue: a push changes neither)."""

    def work_out() -> list[str]:
        items = catalogue_items(session, inspection.catalogue_id).values()
        # The catalogue's rules are read once per batch, whatever the number of enterprises it names.
        rules = cached(session, ("rules", inspection.catalogue_id), lambda: {
            i.code: ApplicabilityRule.from_dict(i.applies_when) for i in items})  # fmt: skip
        return [
            i.code for i in applicable_items(items, inspection.enterprise.profile(), lambda i: rules[i.code])
        ]

    return cast(
        list[str], cached(session, ("needed", inspection.catalogue_id, inspection.enterprise_id), work_out)
    )


def _replace_participants(inspection: Inspection, wanted: list[dict[str, Any]]) -> None:
    """Make the participant list equal ``wanted``, rewriting rows in place by ordinal.

    Assigning a new list would insert the new rows before the unit of work deletes the old ones, and the
    (inspection, ordinal) key refuses that whenever the old rows were already stored (an earlier push).
    """
    current = list(inspection.participants)
    for ordinal, fields_ in enumerate(wanted):
        if ordinal < len(current):
            row = current[ordinal]
            row.role, row.user_id = fields_["role"], fields_.get("user_id")
            row.name, row.badge_no = fields_["name"], fields_.get("badge_no")
        else:
            inspection.participants.append(InspectionParticipant(ordinal=ordinal, **fields_))
    for row in current[len(wanted) :]:
        inspection.participants.remove(row)


def _release_findings(session: Session, inspection: Inspection) -> None:
    """Hazards recorded while the inspection was a draft reach the enterprise only now (四不两直): give them and
    their events new change numbers, or an enterprise device that pulled past their old ones would never get them."""
    if made_in_batch(session, inspection):
        return  # its findings are written by this very transaction: numbered at its commit, not seen before
    hazards = (
        session.scalars(
            sa.select(Hazard).where(Hazard.inspection_id == inspection.id).options(joinedload(Hazard.events))
        )
        .unique()
        .all()
    )
    for row in (*hazards, *(event for hazard in hazards for event in hazard.events)):
        flag_modified(row, "change_no")  # the commit numbers every modified synced row anew


class ItemResultDataSchema(Schema):
    """An answer to one catalogue item."""

    inspection_id = fields.UUID(required=True)
    item_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    result = fields.String(required=True, validate=validate.OneOf([r.value for r in ItemResultValue]))
    note = fields.String(allow_none=True, validate=validate.Length(max=limits.NOTE))
    answered_at = fields.AwareDateTime(allow_none=True)


_RESULTS = frozenset(r.value for r in ItemResultValue)
_ANSWER_KEYS = frozenset({"inspection_id", "item_code", "result", "note", "answered_at"})


_ANSWERED_AT = ItemResultDataSchema().fields["answered_at"]


def _answer_data(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """An answer's data as ItemResultDataSchema loads it, checked by hand when it has the usual shape (text
    id, code and result, a note or none, an answer time or none); anything else is loaded by the schema
    itself, so values and refusals are the schema's either way."""
    inspection_id, code, result, note = (
        data.get(k) for k in ("inspection_id", "item_code", "result", "note")
    )
    answered_at = data.get("answered_at")
    if (
        data.keys() <= _ANSWER_KEYS
        and isinstance(inspection_id, str) and isinstance(code, str) and 1 <= len(code) <= 16
        and result in _RESULTS and (note is None or (isinstance(note, str) and len(note) <= limits.NOTE))
        and (answered_at is None or isinstance(answered_at, str))
    ):  # fmt: skip
        try:
            loaded: dict[str, Any] = {
                "inspection_id": uuid.UUID(inspection_id),
                "item_code": code,
                "result": result,
            }
            if "answered_at" in data:
                loaded["answered_at"] = None if answered_at is None else _ANSWERED_AT.deserialize(answered_at)
        except (ValueError, ValidationError):
            pass
        else:
            if "note" in data:
                loaded["note"] = note
            return loaded
    return load_data(schema, data, creating=True)


class ItemResultHandler:
    """Answers belong to their inspection and are sealed with it."""

    entity = "item_result"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = ItemResult.__table__
    writable_fields = frozenset(ItemResultDataSchema().fields)
    schema = ItemResultDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, ItemResult, mutations)

    def apply_many(self, session: Session, principal: Principal, mutations: list[Mutation]) -> list[int]:
        """New answers, set-based: validated without the ORM, kept aside and inserted in one statement by
        finish_batch. A run holding anything else (a change, a deletion, an id twice) goes through apply()."""
        scope = scope_of(principal)
        if scope.role not in REGULATOR_ROLES:
            raise problems.forbidden()
        ids = {m.id for m in mutations}
        absent = absent_ids(session)
        if len(ids) < len(mutations) or any(
            m.op != "upsert" or (ItemResult, m.id) not in absent for m in mutations
        ):
            return [self.apply(session, principal, m) for m in mutations]
        now = utcnow()
        inspections: dict[uuid.UUID, tuple[Inspection, frozenset[str], dict[str, uuid.UUID]]] = {}
        versions: list[int] = []
        for mutation in mutations:
            data = _answer_data(self.schema, mutation.data)
            inspection_id = data["inspection_id"]
            if inspection_id not in inspections:
                inspection = require_draft(own_inspection(session, scope, inspection_id))
                inspections[inspection_id] = (
                    inspection, catalogue_codes(session, inspection.catalogue_id), answer_ids(session, inspection.id)
                )  # fmt: skip
            inspection, codes, answers = inspections[inspection_id]
            if not stored_or_staged(session, inspection):
                # Its inspection is only in the session (written by the flush, after the kept rows): no FK yet.
                versions.append(self.apply(session, principal, mutation))
                continue
            code = data["item_code"]
            if code not in codes:
                raise problems.invalid_mutation(reason=f"item {code} is not in the inspection's catalogue")
            if code in answers:
                raise problems.invalid_mutation(reason=f"item {code} already has an answer ({answers[code]})")
            stage_insert(session, bare_row(
                ItemResult, id=mutation.id, inspection_id=inspection.id, item_code=code, result=ItemResultValue(data["result"]),
                note=data.get("note"), answered_at=data.get("answered_at"), created_at=now, updated_at=now,
                deleted_at=None,
            ))  # fmt: skip
            answers[code] = mutation.id
            versions.append(1)
        return versions

    def finish_batch(self, session: Session) -> None:
        """Insert the answers apply_many kept aside."""
        write_staged(session)

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Record or change an answer of a draft inspection."""
        scope = scope_of(principal)
        if scope.role not in REGULATOR_ROLES:
            raise problems.forbidden()
        row = find(session, ItemResult, mutation.id)
        created = row is None
        data = load_data(self.schema, mutation.data, creating=created)
        inspection = own_inspection(session, scope, row.inspection_id if row else data["inspection_id"])
        require_draft(inspection)
        if row is None:
            code = data["item_code"]
            if code not in catalogue_codes(session, inspection.catalogue_id):
                raise problems.invalid_mutation(reason=f"item {code} is not in the inspection's catalogue")
            answers = answer_ids(session, inspection.id)
            if code in answers:
                raise problems.invalid_mutation(reason=f"item {code} already has an answer ({answers[code]})")
            row = ItemResult(id=mutation.id, inspection_id=inspection.id, item_code=code)
            session.add(row)
            created_row(session, row)
            answers[code] = row.id
        elif (
            data.get("inspection_id", row.inspection_id) != row.inspection_id
            or data.get("item_code", row.item_code) != row.item_code
        ):
            raise problems.invalid_mutation(reason="inspection_id and item_code cannot change")
        if mutation.op == "delete":
            row.deleted_at = utcnow()
        for key in ("note", "answered_at"):
            if key in data:
                setattr(row, key, data[key])
        if "result" in data:
            row.result = ItemResultValue(data["result"])
        return bump_version(row, created)

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Answers of visible inspections."""
        scope = scope_of(principal)

        def visible() -> Any:
            return of_visible_inspection(ItemResult.inspection_id, scope)

        return _ANSWER_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, scope)
        )


_ANSWER_PULL = PulledColumns(cast(sa.Table, ItemResult.__table__), named(cast(sa.Table, ItemResult.__table__), (
    "inspection_id", "item_code", "result", "note", "answered_at",
)))  # fmt: skip
