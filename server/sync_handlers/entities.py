"""The entities devices sync: what each may write, how it is validated and applied, who sees it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from server.domain import limits
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import MIN_INSPECTORS, InspectionKind, InspectionStatus
from server.domain.roles import Role
from server.models import (
    Catalogue,
    CatalogueItem,
    Device,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    QrToken,
    ReviewDecision,
    SamplingAssignment,
    User,
)
from server.models.base import utcnow
from server.services.hazards import append_event, record_hazard
from server.services.portal import hazard_released
from server.services.seal import check_seal
from server.sync_handlers.common import (
    ABSENT,
    CREATED,
    cached,
    enterprise_visible,
    find,
    inspection_visible,
    load_data,
    made_in_batch,
    own_inspection,
    prefetch_rows,
    require_draft,
    row_changes,
    stage_insert,
    visible_enterprise,
    write_staged,
)
from server.sync_handlers.common import created as created_row
from server.sync_handlers.principal import Scope, scope_of
from sync import problems
from sync.engine import Change, Mutation
from sync.principal import Principal
from sync.protocol import SHA256_RE, canonical_json

#: Roles whose devices record a regulator's inspection, its answers and its hazards.
REGULATOR_ROLES = frozenset({Role.inspector, Role.expert, Role.admin})
#: Inspection kinds a regulator's device may record: a self-assessment (自评) is only ever the enterprise's own,
#: made on the portal.
REGULATOR_KINDS = frozenset(k.value for k in InspectionKind if k != InspectionKind.self_check)

#: Bytes of canonical JSON a small structured field (terms, 五到位, an event's data) may take, and all of an
#: inspection's signatures (each a small signature image).
SMALL_JSON = 20_000
SIGNATURES_JSON = 2_000_000


def json_size(limit: int) -> Any:
    """A validator refusing a structured value whose JSON is longer than ``limit`` bytes."""

    def check(value: Any) -> None:
        size = len(canonical_json(value))
        if size > limit:
            raise ValidationError(f"too large: {size} bytes of JSON, at most {limit}")

    return check


LAT = validate.Range(min=-90, max=90)
LON = validate.Range(min=-180, max=180)
POSITIVE = validate.Range(min=0)


class _ReadOnly:
    """Entities devices receive but never write."""

    writable_fields: ClassVar[frozenset[str]] = frozenset()

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Devices may not change reference data."""
        raise problems.forbidden()


# --- reference data ----------------------------------------------------------------------------------


class EnterpriseHandler(_ReadOnly):
    """Enterprises of the user's region, with their current and revoked QR tokens (for offline checks)."""

    entity = "enterprise"

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Enterprises in scope."""
        return row_changes(session, Enterprise, self.entity, enterprise_visible(scope_of(principal)), after, upto,
                           limit, lambda e: self._data(session, e))  # fmt: skip

    @staticmethod
    def _data(session: Session, e: Enterprise) -> dict[str, Any]:
        revoked = session.scalars(
            sa.select(QrToken.token).where(QrToken.enterprise_id == e.id, QrToken.revoked_at.is_not(None))
        ).all()
        return {
            "name": e.name, "credit_code": e.credit_code, "address": e.address, "region_id": e.region_id,
            "region_name": e.region.name, "lat": e.lat, "lon": e.lon, "sectors": sorted(s.value for s in e.sectors),
            "dust_workers": e.dust_workers, "main_person": e.main_person, "main_person_phone": e.main_person_phone,
            "qr_token": e.qr_token, "revoked_qr_tokens": sorted(revoked),
        }  # fmt: skip


class CatalogueHandler(_ReadOnly):
    """Every catalogue version with its items (they are the same for everyone)."""

    entity = "catalogue"

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """All catalogue versions."""
        return row_changes(session, Catalogue, self.entity, None, after, upto, limit, self._data)

    @staticmethod
    def _data(c: Catalogue) -> dict[str, Any]:
        # The bureau's zone travels with the catalogue: the tablet counts "today" and overdue in it, offline.
        return {
            "code": c.code, "version": c.version, "title": c.title, "effective_from": c.effective_from,
            "effective_to": c.effective_to, "five_terms": c.five_terms, "timezone": current_app.config["TIMEZONE"],
            "items": [
                {"code": i.code, "ordinal": i.ordinal, "section": i.section, "sector": i.sector, "text": i.text,
                 "legal_basis": i.legal_basis, "default_level": i.default_level, "applies_when": i.applies_when,
                 "verification": i.verification}
                for i in c.items
            ],
        }  # fmt: skip


class ReviewDecisionHandler(_ReadOnly):
    """Supervisors' decisions, flowing back to the inspector whose inspection they concern."""

    entity = "review_decision"

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Decisions on inspections the user may see."""
        visible = ReviewDecision.inspection_id.in_(
            sa.select(Inspection.id).where(inspection_visible(scope_of(principal)))
        )
        return row_changes(session, ReviewDecision, self.entity, visible, after, upto, limit, lambda d: {
            "inspection_id": d.inspection_id, "outcome": d.outcome, "comment": d.comment,
            "decided_at": d.decided_at, "reviewer": d.reviewer.display_name,
        })  # fmt: skip


class AssignmentHandler(_ReadOnly):
    """双随机 assignments, pulled only by the inspector assigned (never by an enterprise: 四不两直)."""

    entity = "assignment"

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """The principal's own assignments."""
        scope = scope_of(principal)
        visible = (
            sa.false() if scope.role == Role.enterprise else SamplingAssignment.inspector_id == scope.user_id
        )
        return row_changes(session, SamplingAssignment, self.entity, visible, after, upto, limit, lambda a: {
            "draw_id": a.draw_id, "drawn_at": a.draw.drawn_at, "enterprise_id": a.enterprise_id,
            "enterprise_name": a.enterprise.name, "enterprise_address": a.enterprise.address,
            "region_name": a.enterprise.region.name, "kind": InspectionKind.city_sampling,
            "co_inspectors": [o.inspector.display_name for o in a.draw.assignments
                              if o.enterprise_id == a.enterprise_id and o.id != a.id and o.deleted_at is None],
        })  # fmt: skip


class ColleagueHandler(_ReadOnly):
    """The inspectors of the user's regions (names, badge numbers), so a tablet picks the team offline."""

    entity = "colleague"

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Inspectors of the scope's regions; none for an enterprise account."""
        scope = scope_of(principal)
        if scope.role == Role.enterprise:
            visible: Any = sa.false()
        elif scope.region_ids is None:
            visible = User.role == Role.inspector
        else:
            visible = sa.and_(User.role == Role.inspector, User.region_id.in_(scope.region_ids))
        return row_changes(session, User, self.entity, visible, after, upto, limit, lambda u: {
            "user_id": u.id, "display_name": u.display_name, "badge_no": u.badge_no, "region_id": u.region_id,
            "active": u.active,
        })  # fmt: skip


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
    writable_fields = frozenset(InspectionDataSchema().fields)
    schema = InspectionDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, Inspection, mutations)

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
            catalogue = session.get(Catalogue, data["catalogue_id"])
            if catalogue is None:
                raise problems.missing_reference(entity="catalogue", id=data["catalogue_id"])
            inspection = Inspection(
                id=mutation.id, enterprise=enterprise, catalogue=catalogue, kind=InspectionKind(data["kind"]),
                enterprise_id=enterprise.id, catalogue_id=catalogue.id,
                status=InspectionStatus.draft, created_by_id=scope.user_id, device_id=principal.device_id,
                started_at=data["started_at"], received_at=utcnow(),
            )  # fmt: skip
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
        items = catalogue_items(session, inspection.catalogue_id).values()
        needed = applicable_items(
            items, inspection.enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
        )
        answers = answer_ids(session, inspection.id)
        answered = {
            code for code, answer_id in answers.items()
            if (row := find(session, ItemResult, answer_id)) is not None and row.deleted_at is None
            and row.result != ItemResultValue.not_checked
        }  # fmt: skip
        missing = [i.code for i in needed if i.code not in answered]
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
        return row_changes(session, Inspection, self.entity, inspection_visible(scope_of(principal)), after, upto,
                           limit, self._data)  # fmt: skip

    @staticmethod
    def _data(i: Inspection) -> dict[str, Any]:
        return {
            "enterprise_id": i.enterprise_id, "catalogue_id": i.catalogue_id, "kind": i.kind, "status": i.status,
            "started_at": i.started_at, "finished_at": i.finished_at, "received_at": i.received_at,
            "start_lat": i.start_lat, "start_lon": i.start_lon, "start_accuracy_m": i.start_accuracy_m,
            "end_lat": i.end_lat, "end_lon": i.end_lon, "end_accuracy_m": i.end_accuracy_m,
            "participants": [{"role": p.role, "user_id": p.user_id, "name": p.name, "badge_no": p.badge_no}
                             for p in i.participants],
            "signatures": i.signatures, "summary_note": i.summary_note, "sealed_sha256": i.sealed_sha256,
            "device_signature": i.device_signature, "corrects_id": i.corrects_id,
        }  # fmt: skip


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
    hazards = session.scalars(sa.select(Hazard).where(Hazard.inspection_id == inspection.id)).all()
    events = session.scalars(
        sa.select(HazardEvent).where(HazardEvent.hazard_id.in_([h.id for h in hazards]))
    ).all()
    for row in (*hazards, *events):
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
        absent = session.info.get(ABSENT, ())
        if len(ids) < len(mutations) or any(
            m.op != "upsert" or (ItemResult, m.id) not in absent for m in mutations
        ):
            return [self.apply(session, principal, m) for m in mutations]
        now = utcnow()
        inspections: dict[uuid.UUID, tuple[Inspection, frozenset[str], dict[str, uuid.UUID]]] = {}
        for mutation in mutations:
            data = _answer_data(self.schema, mutation.data)
            inspection_id = data["inspection_id"]
            if inspection_id not in inspections:
                inspection = require_draft(own_inspection(session, scope, inspection_id))
                inspections[inspection_id] = (
                    inspection, catalogue_codes(session, inspection.catalogue_id), answer_ids(session, inspection.id)
                )  # fmt: skip
            inspection, codes, answers = inspections[inspection_id]
            code = data["item_code"]
            if code not in codes:
                raise problems.invalid_mutation(reason=f"item {code} is not in the inspection's catalogue")
            if code in answers:
                raise problems.invalid_mutation(reason=f"item {code} already has an answer ({answers[code]})")
            stage_insert(session, ItemResult(
                id=mutation.id, inspection_id=inspection.id, item_code=code, result=ItemResultValue(data["result"]),
                note=data.get("note"), answered_at=data.get("answered_at"), created_at=now, updated_at=now,
                deleted_at=None,
            ))  # fmt: skip
            answers[code] = mutation.id
        return [1] * len(mutations)

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
        visible = ItemResult.inspection_id.in_(
            sa.select(Inspection.id).where(inspection_visible(scope_of(principal)))
        )
        return row_changes(session, ItemResult, self.entity, visible, after, upto, limit, lambda r: {
            "inspection_id": r.inspection_id, "item_code": r.item_code, "result": r.result, "note": r.note,
            "answered_at": r.answered_at,
        })  # fmt: skip


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


def _hazard_data(h: Hazard) -> dict[str, Any]:
    return {
        "enterprise_id": h.enterprise_id, "inspection_id": h.inspection_id, "source": h.source, "item_code": h.item_code,
        "ledger_no": h.ledger_no, "place": h.place, "description": h.description, "level": h.level,
        "level_reason": h.level_reason, "found_at": h.found_at, "terms": h.terms, "funds_yuan": h.funds_yuan,
        "five_in_place": h.five_in_place, "treatment_plan": h.treatment_plan,
        "reported_to_regulator_on": h.reported_to_regulator_on,
        "reported_to_workers_congress_on": h.reported_to_workers_congress_on, "supervision_level": h.supervision_level,
        "supervision_no": h.supervision_no, "stop_production": h.stop_production, "state": h.state,
        "deadline": h.deadline, "listed": h.listed,
    }  # fmt: skip


def check_own_draft_hazard(session: Session, scope: Scope, hazard: Hazard) -> None:
    """Refuse unless ``hazard`` was found in an inspection this user created that is still a draft."""
    if hazard.source == HazardSource.self_ledger or hazard.inspection_id is None:
        raise problems.owned_elsewhere()
    inspection = own_inspection(session, scope, hazard.inspection_id)
    require_draft(inspection)


class HazardHandler:
    """Hazards found in an inspection: editable with their draft inspection, then only through events."""

    entity = "hazard"
    source = HazardSource.inspection
    writable_fields = frozenset(HazardDataSchema().fields)
    schema = HazardDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, Hazard, mutations)

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
        hazard = record_hazard(
            session, enterprise=enterprise, description=data["description"], level=HazardLevel(data["level"]),
            found_at=data["found_at"], deadline=data.get("deadline"), source=source, hazard_id=mutation.id,
            found_event_id=uuid.uuid5(mutation.id, "found"), device=device, actor=None,
            inspection_id=inspection.id if inspection else None, **extra,
        )  # fmt: skip
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
        in_scope = Hazard.enterprise_id.in_(sa.select(Enterprise.id).where(enterprise_visible(scope)))
        visible = sa.and_(in_scope, Hazard.source != HazardSource.self_ledger)
        if scope.role == Role.enterprise:
            visible = sa.and_(visible, hazard_released())
        return row_changes(session, Hazard, self.entity, visible, after, upto, limit, _hazard_data)


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
        in_scope = Hazard.enterprise_id.in_(sa.select(Enterprise.id).where(enterprise_visible(scope)))
        visible = sa.and_(in_scope, Hazard.source == HazardSource.self_ledger)
        return row_changes(session, Hazard, self.entity, visible, after, upto, limit, _hazard_data)


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
        event = append_event(
            session, hazard, kind, data["at"], deadline=data.get("deadline"), comment=data.get("comment"),
            device=session.get(Device, principal.device_id), data=data.get("data"), event_id=mutation.id,
        )  # fmt: skip
        event.actor_id = scope.user_id
        if kind is HazardEventKind.withdrawn:
            # Out of every list and figure (they all leave deleted rows out); its log keeps who withdrew it and when.
            hazard.deleted_at = utcnow()
        created_row(session, event)
        return event.row_version

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Events of hazards in scope (an enterprise's: of the hazards it may see)."""
        scope = scope_of(principal)
        hazards = sa.select(Hazard.id).where(
            Hazard.enterprise_id.in_(sa.select(Enterprise.id).where(enterprise_visible(scope)))
        )
        if scope.role == Role.enterprise:
            hazards = hazards.where(hazard_released())
        return row_changes(session, HazardEvent, self.entity, HazardEvent.hazard_id.in_(hazards), after, upto, limit,
                           lambda e: {"hazard_id": e.hazard_id, "kind": e.kind, "at": e.at, "deadline": e.deadline,
                                      "comment": e.comment, "data": e.data, "received_at": e.received_at})  # fmt: skip


def _may_see_hazard(session: Session, scope: Scope, hazard: Hazard) -> bool:
    """An enterprise acts only on hazards it may see: its ledger's, and those of submitted inspections."""
    if scope.role != Role.enterprise or hazard.source == HazardSource.self_ledger:
        return True
    return session.scalar(sa.select(Hazard.id).where(Hazard.id == hazard.id, hazard_released())) is not None


# --- photos --------------------------------------------------------------------------------------------

PHOTO_TARGETS = {
    "inspection": Inspection,
    "item_result": ItemResult,
    "hazard": Hazard,
    "hazard_event": HazardEvent,
}


class PhotoDataSchema(Schema):
    """A photo's metadata; its bytes travel separately, before or after."""

    sha256 = fields.String(required=True, validate=validate.Regexp(SHA256_RE))
    original_sha256 = fields.String(allow_none=True, validate=validate.Regexp(SHA256_RE))
    captured_at = fields.AwareDateTime(allow_none=True)
    lat = fields.Float(allow_none=True, validate=LAT)
    lon = fields.Float(allow_none=True, validate=LON)
    accuracy_m = fields.Float(allow_none=True, validate=POSITIVE)
    fix_at = fields.AwareDateTime(allow_none=True)
    entity_type = fields.String(required=True, validate=validate.OneOf(sorted(PHOTO_TARGETS)))
    entity_id = fields.UUID(required=True)
    mime = fields.String(allow_none=True, validate=validate.Length(max=64))
    size = fields.Integer(allow_none=True, validate=POSITIVE)
    width = fields.Integer(allow_none=True, validate=POSITIVE)
    height = fields.Integer(allow_none=True, validate=POSITIVE)


class PhotoHandler:
    """Photo records are immutable evidence: the same record twice is a no-op, a changed one is refused."""

    entity = "photo"
    writable_fields = frozenset(PhotoDataSchema().fields)
    schema = PhotoDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, Photo, mutations)
        shas = {str(m.data["sha256"]) for m in mutations if isinstance(m.data.get("sha256"), str)}
        from server.media.ingest import facts_for_photos

        known = facts_for_photos(session, shas)
        for sha in shas:
            cached(session, ("blob_facts", sha), lambda sha=sha: known.get(sha))

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Record a photo linked to something the user may add evidence to (or take back a draft's photo)."""
        if mutation.op == "delete":
            return self._take_back(session, principal, mutation.id)
        data = load_data(self.schema, mutation.data, creating=True)
        existing = find(session, Photo, mutation.id)
        if existing is not None:
            if (existing.sha256, existing.entity_type, existing.entity_id) != (
                data["sha256"],
                data["entity_type"],
                data["entity_id"],
            ):
                raise problems.invalid_mutation(reason="a photo record cannot change once recorded")
            return existing.row_version
        self._check_target(session, principal, data["entity_type"], data["entity_id"])
        photo = Photo(id=mutation.id, device_id=principal.device_id, received_at=utcnow(), **data)
        from server.media.ingest import facts_for_photo

        facts = cached(
            session, ("blob_facts", data["sha256"]), lambda: facts_for_photo(session, data["sha256"])
        )
        for key, value in (facts or {}).items():
            setattr(photo, key, value)
        session.add(photo)
        created_row(session, photo)
        return photo.row_version

    @staticmethod
    def _take_back(session: Session, principal: Principal, photo_id: uuid.UUID) -> int:
        """A photo deleted (or retaken) by the device that took it, while what it shows is still the author's draft:
        the row stays, marked deleted, so the record shows it was taken back; evidence already submitted or of a
        hazard's follow-up can never be deleted from a device."""
        photo = find(session, Photo, photo_id)
        if photo is None:
            raise problems.missing_reference(entity="photo", id=photo_id)
        if photo.deleted_at is not None:
            return photo.row_version
        if photo.device_id != principal.device_id:
            raise problems.owned_elsewhere()
        scope = scope_of(principal)
        target = find(session, PHOTO_TARGETS[photo.entity_type], photo.entity_id)
        if isinstance(target, Inspection | ItemResult):
            own = target.id if isinstance(target, Inspection) else target.inspection_id
            require_draft(own_inspection(session, scope, own))
        elif isinstance(target, Hazard):
            check_own_draft_hazard(session, scope, target)
        else:
            raise problems.invalid_mutation(
                reason="photo evidence of a hazard's follow-up cannot be deleted from a device"
            )
        photo.deleted_at = utcnow()
        return bump_version(photo, False)

    @staticmethod
    def _check_target(session: Session, principal: Principal, entity_type: str, entity_id: uuid.UUID) -> None:
        """Evidence goes only to the user's own draft inspection (or its answers), or to a hazard in scope."""
        scope = scope_of(principal)
        target = find(session, PHOTO_TARGETS[entity_type], entity_id)
        if target is None:
            raise problems.missing_reference(entity=entity_type, id=entity_id)
        if isinstance(target, Inspection | ItemResult):
            own = target.id if isinstance(target, Inspection) else target.inspection_id
            require_draft(own_inspection(session, scope, own))
            return
        hazard = target if isinstance(target, Hazard) else cast(HazardEvent, target).hazard
        if not _may_see_hazard(session, scope, hazard):
            raise problems.missing_reference(entity=entity_type, id=entity_id)
        visible_enterprise(session, scope, hazard.enterprise_id)

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Photos taken with the user's own devices."""
        devices = sa.select(Device.id).where(Device.user_id == scope_of(principal).user_id)
        return row_changes(session, Photo, self.entity, Photo.device_id.in_(devices), after, upto, limit, lambda p: {
            "sha256": p.sha256, "original_sha256": p.original_sha256, "captured_at": p.captured_at,
            "received_at": p.received_at, "lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m,
            "fix_at": p.fix_at, "entity_type": p.entity_type, "entity_id": p.entity_id, "mime": p.mime,
            "size": p.size, "width": p.width, "height": p.height,
        })  # fmt: skip


def catalogue_items(session: Session, catalogue_id: uuid.UUID) -> dict[str, CatalogueItem]:
    """Code → item of a catalogue version (immutable once used, so safe to keep for the batch)."""
    return cached(session, ("items", catalogue_id), lambda: {i.code: i for i in session.scalars(
        sa.select(CatalogueItem).where(CatalogueItem.catalogue_id == catalogue_id))})  # fmt: skip


def catalogue_codes(session: Session, catalogue_id: uuid.UUID) -> frozenset[str]:
    """The item codes of a catalogue version."""
    return frozenset(catalogue_items(session, catalogue_id))


def answer_ids(session: Session, inspection_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """Item code → answer id of an inspection, loaded once per batch and kept current by the handler."""
    query = sa.select(ItemResult.item_code, ItemResult.id).where(ItemResult.inspection_id == inspection_id)
    if (Inspection, inspection_id) in session.info.get(CREATED, {}):
        # Made by this batch: its answers are all the batch's own, recorded here as they are made.
        return cast(dict[str, uuid.UUID], cached(session, ("answers", inspection_id), dict))
    return cached(
        session, ("answers", inspection_id), lambda: {row.item_code: row.id for row in session.execute(query)}
    )


def bump_version(row: Any, created: bool) -> int:
    """A row's version counts its writes: 1 when created, one more for each later change."""
    if not created:
        row.row_version += 1
    return int(row.row_version)
