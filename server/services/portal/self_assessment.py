"""The enterprise's per-phase self-assessment (自评): loading, reading the form and saving it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import ItemResultValue
from server.domain.inspections import InspectionKind, InspectionStatus
from server.errors import (
    answer_before_photos,
    answer_invalid,
    answer_note_required,
    answer_note_too_long,
    answer_required,
    no_catalogue_in_force,
    refuse_fields,
    self_assessment_sealed,
)
from server.models import (
    Campaign,
    CampaignPhase,
    CatalogueItem,
    Enterprise,
    Inspection,
    ItemResult,
    Photo,
    User,
)
from server.services import DbSession, audit, oversight
from sync.problems import Problem

# --- the per-phase self-assessment (自评) --------------------------------------------------------------------

#: Namespace of self-assessment ids: one stable id per (enterprise, campaign, phase).
SELF_ASSESSMENT_NAMESPACE = uuid.UUID("6f1d2a0e-7c4b-5e21-9a43-5b8f0c1d2e3f")
#: The answers a self-assessment gives, as the portal names them.
SELF_RESULTS = {
    ItemResultValue.compliant: "符合",
    ItemResultValue.non_compliant: "不符合",
    ItemResultValue.not_applicable: "不涉及",
}
MAX_NOTE = 2000


def self_assessment_id(enterprise_id: uuid.UUID, campaign: Campaign, phase: CampaignPhase) -> uuid.UUID:
    """The id of the enterprise's self-assessment for one phase (the same on every call)."""
    return uuid.uuid5(SELF_ASSESSMENT_NAMESPACE, f"{enterprise_id}/{campaign.code}/{phase.code}")


def begun_phases(campaign: Campaign, today: date) -> list[CampaignPhase]:
    """The campaign's phases that have started, in order (a phase to come cannot be assessed yet)."""
    return [p for p in campaign.phases if p.starts_on <= today]


def default_phase(campaign: Campaign, today: date) -> CampaignPhase | None:
    """The phase running today, else the last one that has begun."""
    return campaign.phase_on(today) or next(reversed(begun_phases(campaign, today)), None)


@dataclass(frozen=True)
class AssessmentItem:
    """One applicable key item with the enterprise's answer (None: not yet) and its evidence photos."""

    item: CatalogueItem
    result: ItemResult | None
    photos: list[Photo]


@dataclass(frozen=True)
class Assessment:
    """One phase's self-assessment: the stored record (None before the first save) and every applicable item."""

    phase: CampaignPhase
    inspection: Inspection | None
    catalogue_id: uuid.UUID | None
    items: list[AssessmentItem]

    @property
    def editable(self) -> bool:
        """Until submitted, and again once a supervisor returns it for correction."""
        return self.inspection is None or self.inspection.status in (
            InspectionStatus.draft,
            InspectionStatus.returned,
        )

    @property
    def returned_because(self) -> str | None:
        """The supervisor's comment when the submitted self-assessment was returned."""
        if self.inspection is None or self.inspection.status != InspectionStatus.returned:
            return None
        decisions = self.inspection.decisions
        return (decisions[-1].comment or "") if decisions else ""

    @property
    def answered(self) -> int:
        """How many items have an answer."""
        return sum(1 for i in self.items if i.result is not None)


def load_assessment(
    session: DbSession, enterprise: Enterprise, campaign: Campaign, phase: CampaignPhase, today: date
) -> Assessment:
    """The phase's self-assessment of every key item that applies to the enterprise."""
    inspection = session.get(Inspection, self_assessment_id(enterprise.id, campaign, phase))
    if inspection is not None and (
        inspection.enterprise_id != enterprise.id or inspection.deleted_at is not None
    ):
        inspection = None
    catalogue_id = inspection.catalogue_id if inspection else oversight.current_catalogue_id(session, today)
    items: list[CatalogueItem] = []
    if catalogue_id is not None:
        keys = session.scalars(
            sa.select(CatalogueItem)
            .where(CatalogueItem.catalogue_id == catalogue_id, CatalogueItem.section == "key")
            .order_by(CatalogueItem.ordinal)
        ).all()
        items = applicable_items(
            keys, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
        )
    results: dict[str, ItemResult] = {}
    photos: dict[uuid.UUID, list[Photo]] = {}
    if inspection is not None:
        results = {r.item_code: r for r in inspection.results if r.deleted_at is None}
        for photo in session.scalars(
            sa.select(Photo)
            .where(Photo.entity_type == "item_result", Photo.deleted_at.is_(None),
                   Photo.entity_id.in_([r.id for r in results.values()]))
            .order_by(Photo.received_at, Photo.id)
        ):  # fmt: skip
            photos.setdefault(photo.entity_id, []).append(photo)
    return Assessment(
        phase=phase, inspection=inspection, catalogue_id=catalogue_id,
        items=[
            AssessmentItem(i, results.get(i.code), photos.get(results[i.code].id, []) if i.code in results else [])
            for i in items
        ],
    )  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """One item's answer as typed: no result yet, or one of SELF_RESULTS with a note."""

    result: ItemResultValue | None
    note: str


def parse_assessment_form(
    form: Mapping[str, str], codes: list[str], *, submitting: bool, with_photos: Collection[str] = ()
) -> dict[str, Answer]:
    """Check the answers (``result-<code>``, ``note-<code>``); a 不符合 or 不涉及 needs a note, submitting needs
    every item answered, photos need an answer; raise FormProblems naming every bad field."""
    errors: dict[str, Problem] = {}
    answers: dict[str, Answer] = {}
    for code in codes:
        raw = (form.get(f"result-{code}") or "").strip()
        note = (form.get(f"note-{code}") or "").strip()
        result = None
        if raw:
            try:
                result = ItemResultValue(raw)
            except ValueError:
                result = None
            if result not in SELF_RESULTS:
                errors[f"result-{code}"] = answer_invalid(item=code)
                continue
        if len(note) > MAX_NOTE:
            errors[f"note-{code}"] = answer_note_too_long(item=code, limit=MAX_NOTE)
        elif result in (ItemResultValue.non_compliant, ItemResultValue.not_applicable) and not note:
            compliant = result is ItemResultValue.non_compliant
            errors[f"note-{code}"] = answer_note_required(
                item=code, why="不符合的情况" if compliant else "不涉及的理由",
                why_en="what does not comply" if compliant else "why it does not apply",
            )  # fmt: skip
        if result is None and submitting:
            errors[f"result-{code}"] = answer_required(item=code)
        if result is None and code in with_photos:
            errors[f"photos-{code}"] = answer_before_photos(item=code)
        answers[code] = Answer(result, note)
    refuse_fields(errors)
    return answers


def save_assessment(
    session: DbSession, user: User, enterprise: Enterprise, campaign: Campaign, assessment: Assessment,
    answers: Mapping[str, Answer], *, submit: bool, now: datetime,
    attach_photos: Callable[[str, uuid.UUID], list[Photo]],
) -> Inspection:  # fmt: skip
    """Save the phase's self-assessment (a 'self' inspection made by the enterprise user, one per phase), and with
    ``submit`` seal it (submitted, read-only); ``attach_photos(code, result_id)`` stores an item's new evidence.
    Audited. Self-assessments never count towards 清零 (server.domain.clearance leaves kind 'self' out)."""
    if not assessment.editable:
        raise self_assessment_sealed()
    if assessment.catalogue_id is None:
        raise no_catalogue_in_force()
    inspection = assessment.inspection
    created = inspection is None
    if inspection is None:
        phase = assessment.phase
        inspection = Inspection(
            id=self_assessment_id(enterprise.id, campaign, phase), enterprise_id=enterprise.id,
            catalogue_id=assessment.catalogue_id, kind=InspectionKind.self_check, status=InspectionStatus.draft,
            created_by_id=user.id, started_at=now, received_at=now, row_version=1,
            summary_note=f"企业自评：{campaign.name} {phase.name}（{phase.code}）",
        )  # fmt: skip
        session.add(inspection)
    rows = {r.item_code: r for r in inspection.results}
    photo_ids: list[str] = []
    for code, answer in answers.items():
        row = rows.get(code)
        if answer.result is None:
            if row is not None and row.deleted_at is None:
                row.deleted_at = now  # a cleared answer of a draft: a tombstone, as sync keeps deletions
                row.row_version += 1
            continue
        if row is None:
            row = ItemResult(id=uuid.uuid4(), inspection_id=inspection.id, item_code=code, row_version=0)
            inspection.results.append(row)
        new = (answer.result, answer.note or None)
        if row.deleted_at is not None or (row.result, row.note) != new:
            row.result, row.note = new
            row.deleted_at = None
            row.answered_at = now
            row.row_version += 1
        photo_ids += [str(p.id) for p in attach_photos(code, row.id)]
    if submit:
        inspection.status = InspectionStatus.submitted
        inspection.finished_at = now
        inspection.submitted_received_at = now
    if not created:
        inspection.row_version += 1
    session.flush()
    audit.record(session, user, "self_assessment.submit" if submit else "self_assessment.save", "inspection",
                 inspection.id, {
        "phase": assessment.phase.code, "answered": sum(1 for a in answers.values() if a.result is not None),
        "items": len(answers), "photos": photo_ids,
    })  # fmt: skip
    return inspection
