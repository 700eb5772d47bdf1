"""Inspections under review, for supervisors (inspectors' devices read and write inspections through sync)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server.api.access import current_user
from server.api.schemas import ProblemSchema
from server.domain.evidence import Flag
from server.domain.inspections import ReviewOutcome, status_after_review
from server.domain.roles import SUPERVISOR_ROLES
from server.extensions import current_backend, db
from server.models import Inspection, User
from server.services import review
from server.services.scope import visible_inspections
from sync import problems

blp = Blueprint(
    "inspections", __name__, url_prefix="/api/inspections", description="Inspection review / 检查审核"
)


class FlagSchema(Schema):
    """A reason for doubt: stable code and its text."""

    code = fields.String()
    zh = fields.String()
    en = fields.String()


class PlaceSchema(Schema):
    """A recorded position and its distance from the enterprise's registered location."""

    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    distance_m = fields.Float(allow_none=True)


class PhotoEvidenceSchema(Schema):
    """A photo with what the device claimed, what the server saw, what the camera wrote, and the flags."""

    id = fields.UUID()
    label = fields.String()
    entity_type = fields.String()
    entity_id = fields.UUID()
    sha256 = fields.String()
    mime = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    captured_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    fix_at = fields.DateTime(allow_none=True)
    exif_taken_at = fields.DateTime(allow_none=True)
    exif_lat = fields.Float(allow_none=True)
    exif_lon = fields.Float(allow_none=True)
    distance_m = fields.Float(
        allow_none=True, metadata={"description": "from the enterprise's registered location"}
    )
    delay_s = fields.Float(allow_none=True, metadata={"description": "server receipt minus capture time"})
    fix_age_s = fields.Float(allow_none=True)
    exif_time_difference_s = fields.Float(
        allow_none=True, metadata={"description": "EXIF time minus capture"}
    )
    exif_zone_hours = fields.Integer(allow_none=True)
    exif_distance_m = fields.Float(allow_none=True)
    hash_verified = fields.Boolean()
    url = fields.String(allow_none=True)
    thumbnail_url = fields.String(allow_none=True)
    flags = fields.List(fields.Nested(FlagSchema))


class HazardBriefSchema(Schema):
    """A hazard found in the inspection."""

    id = fields.UUID()
    item_code = fields.String(allow_none=True)
    description = fields.String()
    place = fields.String(allow_none=True)
    level = fields.String()
    state = fields.String()
    deadline = fields.Date(allow_none=True)
    photos = fields.List(fields.Nested(PhotoEvidenceSchema))


class ItemSchema(Schema):
    """One answered item, in catalogue order."""

    code = fields.String()
    section = fields.String()
    text = fields.String(allow_none=True)
    result = fields.String()
    result_zh = fields.String()
    note = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    hazard_ids = fields.List(fields.UUID())
    photos = fields.List(fields.Nested(PhotoEvidenceSchema))


class ParticipantSchema(Schema):
    """An inspector, expert or enterprise representative."""

    role = fields.String()
    name = fields.String()
    badge_no = fields.String(allow_none=True)


class DecisionSchema(Schema):
    """A supervisor's decision."""

    id = fields.UUID()
    outcome = fields.String()
    comment = fields.String(allow_none=True)
    decided_at = fields.DateTime()
    reviewer = fields.String()


class SealSchema(Schema):
    """The device's seal over the submitted record."""

    present = fields.Boolean()
    verified = fields.Boolean(allow_none=True)
    problem = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)


class EnterpriseBriefSchema(Schema):
    """The inspected enterprise and its registered location."""

    id = fields.UUID()
    name = fields.String()
    credit_code = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


class InspectionReviewSchema(Schema):
    """Everything the review shows about one inspection, with the evidence flags."""

    id = fields.UUID()
    row_version = fields.Integer()
    enterprise = fields.Nested(EnterpriseBriefSchema)
    kind = fields.String()
    kind_zh = fields.String()
    status = fields.String()
    status_zh = fields.String()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    submitted_received_at = fields.DateTime(allow_none=True)
    start = fields.Nested(PlaceSchema)
    end = fields.Nested(PlaceSchema)
    participants = fields.List(fields.Nested(ParticipantSchema))
    summary_note = fields.String(allow_none=True)
    seal = fields.Nested(SealSchema)
    doubtful = fields.Integer(metadata={"description": "reasons for doubt on the whole page"})
    flags = fields.List(fields.Nested(FlagSchema), metadata={"description": "the inspection's own flags"})
    items = fields.List(fields.Nested(ItemSchema))
    unanswered = fields.Integer()
    hazards = fields.List(fields.Nested(HazardBriefSchema))
    photos = fields.List(
        fields.Nested(PhotoEvidenceSchema), metadata={"description": "photos of the inspection itself"}
    )
    decisions = fields.List(fields.Nested(DecisionSchema))
    reviewable = fields.Boolean()


class ReviewSchema(Schema):
    """A supervisor's decision: approve, or return with a comment for the inspectors."""

    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in ReviewOutcome]))
    #: Approving an inspection the review flags needs this confirmation (and a comment saying how it was checked).
    confirm_flags = fields.Boolean(load_default=False)
    comment = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=review.MAX_COMMENT_CHARS)
    )


class ReviewResultSchema(Schema):
    """The decision recorded and the inspection's new status."""

    decision = fields.Nested(DecisionSchema)
    status = fields.String()
    row_version = fields.Integer()


def _supervisor() -> User:
    """The caller, if a supervisor; anyone else is told the resource does not exist."""
    user = current_user()
    if user.role not in SUPERVISOR_ROLES:
        raise problems.not_found()
    return user


def _seconds(value: Any) -> float | None:
    return value.total_seconds() if value is not None else None


def _flags(flags: tuple[Flag, ...]) -> list[dict[str, str]]:
    return [{"code": f.code, "zh": f.zh, "en": f.en} for f in flags]


def _photo(view: review.PhotoView, label: str) -> dict[str, Any]:
    p, ev = view.photo, view.evidence
    return {
        "id": p.id, "label": label, "entity_type": p.entity_type, "entity_id": p.entity_id, "sha256": p.sha256,
        "mime": p.mime, "width": p.width, "height": p.height, "captured_at": p.captured_at,
        "received_at": p.received_at, "lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m, "fix_at": p.fix_at,
        "exif_taken_at": p.exif_taken_at, "exif_lat": p.exif_lat, "exif_lon": p.exif_lon,
        "distance_m": ev.distance_m, "delay_s": _seconds(ev.delay), "fix_age_s": _seconds(ev.fix_age),
        "exif_time_difference_s": _seconds(ev.exif_time_difference), "exif_zone_hours": ev.exif_zone_hours,
        "exif_distance_m": ev.exif_distance_m, "hash_verified": ev.hash_verified, "flags": _flags(ev.flags),
        "url": url_for("review.photo_full", photo_id=p.id) if view.viewable else None,
        "thumbnail_url": url_for("review.photo_thumbnail", photo_id=p.id) if view.viewable else None,
    }  # fmt: skip


def _decision(d: Any) -> dict[str, Any]:
    return {"id": d.id, "outcome": d.outcome.value, "comment": d.comment, "decided_at": d.decided_at,
            "reviewer": d.reviewer.display_name}  # fmt: skip


def review_json(data: review.ReviewData) -> dict[str, Any]:
    """The review as the API gives it."""
    i, ev, e = data.inspection, data.evidence, data.inspection.enterprise
    photos = {view.photo.id: _photo(view, data.labels[view.photo.id]) for view in data.photos}
    return {
        "id": i.id, "row_version": i.row_version,
        "enterprise": {"id": e.id, "name": e.name, "credit_code": e.credit_code, "lat": e.lat, "lon": e.lon},
        "kind": i.kind.value, "kind_zh": i.kind.label_zh, "status": i.status.value,
        "status_zh": review.STATUS_ZH[i.status], "started_at": i.started_at, "finished_at": i.finished_at,
        "received_at": i.received_at, "submitted_received_at": i.submitted_received_at,
        "start": {"lat": i.start_lat, "lon": i.start_lon, "accuracy_m": i.start_accuracy_m,
                  "distance_m": ev.start_distance_m},
        "end": {"lat": i.end_lat, "lon": i.end_lon, "accuracy_m": i.end_accuracy_m, "distance_m": ev.end_distance_m},
        "participants": [{"role": p.role, "name": p.name, "badge_no": p.badge_no} for p in i.participants],
        "summary_note": i.summary_note,
        "seal": {"present": i.sealed_record is not None, "verified": i.seal_verified, "problem": i.seal_problem,
                 "sha256": i.sealed_sha256},
        "doubtful": data.doubtful, "flags": _flags(ev.flags),
        "items": [
            {"code": view.code, "section": section.key, "text": view.item.text if view.item else None,
             "result": view.result.result.value, "result_zh": view.result.result.label_zh, "note": view.result.note,
             "answered_at": view.result.answered_at, "hazard_ids": [h.hazard.id for h in view.hazards],
             "photos": [photos[p.photo.id] for p in view.photos]}
            for section in data.sections for view in section.items
        ],
        "unanswered": data.unanswered,
        "hazards": [
            {"id": h.hazard.id, "item_code": h.hazard.item_code, "description": h.hazard.description,
             "place": h.hazard.place, "level": h.hazard.level.value, "state": h.hazard.state.value,
             "deadline": h.hazard.deadline, "photos": [photos[p.photo.id] for p in h.photos]}
            for h in data.hazards
        ],
        "photos": [photos[p.photo.id] for p in data.inspection_photos],
        "decisions": [_decision(d) for d in i.decisions],
        "reviewable": status_after_review(i.status, ReviewOutcome.approve) is not None,
    }  # fmt: skip


@blp.route("/<uuid:inspection_id>", methods=["GET"])
@blp.response(200, InspectionReviewSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_inspection(inspection_id: uuid.UUID) -> dict[str, Any]:
    """One inspection with its answers, hazards, photos and evidence flags (supervisors; 404 out of scope)."""
    data = review.load_review(db.session, _supervisor(), inspection_id, current_backend().blobs)
    if data is None:
        raise problems.not_found()
    return review_json(data)


@blp.route("/<uuid:inspection_id>/review", methods=["POST"])
@blp.arguments(ReviewSchema)
@blp.response(201, ReviewResultSchema)
@blp.alt_response(400, schema=ProblemSchema, description="400.8: a return needs a comment")
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="409.6: only a submitted inspection can be reviewed")
def review_inspection(args: dict[str, Any], inspection_id: uuid.UUID) -> dict[str, Any]:
    """Approve or return a submitted inspection; the inspectors' tablets learn it at their next pull.

    A session needs the ``X-CSRF-Token`` header."""
    reviewer = _supervisor()
    inspection = db.session.scalar(
        visible_inspections(db.session, reviewer).where(Inspection.id == inspection_id)
    )
    if inspection is None:
        raise problems.not_found()
    data = review.load_review(db.session, reviewer, inspection_id, current_backend().blobs)
    try:
        decision = review.review_inspection(
            db.session, inspection, reviewer, ReviewOutcome(args["outcome"]), args.get("comment"),
            doubts=data.doubtful if data else 0, confirmed=bool(args.get("confirm_flags")),
        )  # fmt: skip
    except problems.Problem:
        db.session.rollback()
        raise
    db.session.commit()
    return {
        "decision": _decision(decision),
        "status": inspection.status.value,
        "row_version": inspection.row_version,
    }
