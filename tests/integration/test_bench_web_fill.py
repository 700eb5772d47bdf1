"""bench/web.py's county generator at 1 % scale: the row counts, and data the server itself could have made."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from flask import Flask

from bench.web import fill_county
from server.domain import hazards as rules
from server.domain.credit_code import validate_credit_code
from server.domain.hazards import HazardState
from server.extensions import db
from server.models import (
    Blob,
    ChangeCounter,
    Device,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    ReviewDecision,
)

TODAY = date(2026, 11, 29)


def _count(model: object, *where: sa.ColumnElement[bool]) -> int:
    """Rows of ``model`` matching ``where``."""
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def test_fill_at_one_percent_scale(app: Flask) -> None:
    with app.app_context():
        models = (Enterprise, Device, Inspection, InspectionParticipant, ReviewDecision, ItemResult, Hazard,
                  HazardEvent, Photo, Blob)  # fmt: skip
        before = {model: _count(model) for model in models}
        non_compliant_before = _count(ItemResult, ItemResult.result == "non_compliant")
        found_before = _count(HazardEvent, HazardEvent.kind == "found")
        counter_before = db.session.scalar(sa.select(ChangeCounter.value)) or 0
        summary = fill_county(db.session, 0.01, seed=7, today=TODAY)
        db.session.commit()

        added = {model.__tablename__: _count(model) - before[model] for model in models}
        assert added == summary.rows
        assert {k: added[k] for k in ("enterprise", "inspection", "inspection_participant", "item_result",
                                      "hazard", "photo")} == {
            "enterprise": 20, "inspection": 100, "inspection_participant": 200, "item_result": 2500,
            "hazard": 200, "photo": 1000,
        }  # fmt: skip
        assert 0 < added["blob"] < 1000 and added["hazard_event"] > 200
        # A hazard per non-compliant answer, each with a 'found' event.
        assert _count(ItemResult, ItemResult.result == "non_compliant") - non_compliant_before == 200
        assert _count(HazardEvent, HazardEvent.kind == "found") - found_before == 200

        codes = db.session.scalars(sa.select(Enterprise.credit_code)).all()
        assert len(set(codes)) == len(codes)
        assert all(validate_credit_code(code) == code for code in codes)

        # The change counter now lies past every change number handed out.
        top = max(db.session.scalar(sa.select(sa.func.max(m.change_no))) for m in (Inspection, Hazard, Photo))
        assert top == db.session.scalar(sa.select(ChangeCounter.value)) > counter_before

        # The projection columns are what replaying each hazard's events gives.
        generated = sa.select(Enterprise.id).where(Enterprise.credit_code.like("________MB%"))
        hazards = db.session.scalars(
            sa.select(Hazard).where(Hazard.enterprise_id.in_(generated)).order_by(Hazard.id).limit(60)
        ).all()
        assert len(hazards) == 60
        for hazard in hazards:
            log = [rules.HazardEvent(e.kind, e.at, e.deadline, e.comment or "") for e in hazard.events]
            status = rules.replay(log, hazard.level)
            assert (hazard.state, hazard.deadline, hazard.listed) == (
                status.state,
                status.deadline,
                status.listed,
            )
            assert hazard.row_version == len(hazard.events)
        states = set(db.session.scalars(sa.select(Hazard.state).where(Hazard.enterprise_id.in_(generated))))
        assert states == {HazardState.found, HazardState.planned, HazardState.reported, HazardState.accepted,
                          HazardState.closed}  # fmt: skip
        overdue = _count(
            Hazard,
            Hazard.enterprise_id.in_(generated),
            Hazard.state.in_(["found", "planned"]),
            Hazard.deadline < TODAY,
        )
        assert 0 < overdue < 200

        # Every submitted inspection is sealed by its author's tablet, and the seal verifies as a synced one would.
        from server.services.seal import check_seal

        submitted = db.session.scalars(
            sa.select(Inspection).where(Inspection.enterprise_id.in_(generated), Inspection.status != "draft")
        ).all()
        assert submitted and all(i.seal_verified is True and i.sealed_record for i in submitted)
        for inspection in submitted[:5]:
            device = db.session.get(Device, inspection.device_id)
            assert device is not None and device.user_id == inspection.created_by_id
            results = {r.item_code: r.result.value for r in db.session.scalars(
                sa.select(ItemResult).where(ItemResult.inspection_id == inspection.id))}  # fmt: skip
            check = check_seal(
                record_text=inspection.sealed_record or "", sealed_sha256=inspection.sealed_sha256,
                signature=inspection.device_signature, jwk=device.public_key_jwk, inspection_id=str(inspection.id),
                results=results,
            )  # fmt: skip
            assert check.verified, check.problem

        # The pages the bench opens exist and belong to 兴县.
        assert isinstance(summary.review_inspection_id, uuid.UUID) and summary.review_inspection_photos > 0
        assert db.session.get(Inspection, summary.review_inspection_id) is not None
        busy = db.session.get(Enterprise, summary.busy_enterprise_id)
        assert busy is not None and busy.credit_code[2:8] == "141123"
        assert _count(Inspection, Inspection.enterprise_id == busy.id) == summary.busy_enterprise_inspections


def test_fill_is_deterministic(app: Flask) -> None:
    with app.app_context():
        first = fill_county(db.session, 0.002, seed=11, today=TODAY)
        db.session.rollback()
        second = fill_county(db.session, 0.002, seed=11, today=TODAY)
        assert first.review_inspection_id == second.review_inspection_id
        assert first.rows == second.rows
