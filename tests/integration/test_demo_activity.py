"""The demo's activity: tablets, inspections, hazards in every state, photos and seals that hold, and the
few deliberately odd records the review pages exist to flag."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from server.demo.county import seed_demo
from server.domain import hazards as rules
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import InspectionSummary, LinkedHazard, clearance, latest_counting_inspection
from server.domain.geo import distance_m
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome
from server.extensions import current_backend, db
from server.models import (
    Blob,
    Campaign,
    CatalogueItem,
    Device,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    ReviewDecision,
    User,
)
from server.models.base import SyncMixin
from server.services.seal import check_seal
from tests.integration.sync_helpers import Device as Tablet

COUNTED = (
    Device,
    Inspection,
    InspectionParticipant,
    ItemResult,
    ReviewDecision,
    Hazard,
    HazardEvent,
    Photo,
    Blob,
)


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) or 0 for m in COUNTED}


def test_seeding_again_creates_nothing(app: Flask) -> None:
    with app.app_context():
        before = _counts()
        summary = seed_demo(db.session)
        db.session.commit()
        after = _counts()
    assert before == after
    assert (summary.devices, summary.inspections, summary.hazards, summary.photos) == (0, 0, 0, 0)
    assert "0 devices, 0 inspections, 0 hazards, 0 photos created" in str(summary)
    assert before["Device"] == 3 and before["Inspection"] >= 17 and before["Photo"] >= 40


def test_inspections_look_like_the_campaign(app: Flask) -> None:
    with app.app_context():
        inspections = db.session.scalars(sa.select(Inspection)).all()
        counties = defaultdict(list)
        for inspection in inspections:
            region = inspection.enterprise.region
            county = region.parent if region.parent and region.parent.code != "141100" else region
            counties[county.code].append(inspection)
        assert len(counties["141123"]) >= 14 and len(counties["141124"]) == 3
        statuses = [i.status for i in inspections]
        assert statuses.count(InspectionStatus.submitted) > statuses.count(InspectionStatus.approved) >= 2
        assert statuses.count(InspectionStatus.returned) == statuses.count(InspectionStatus.draft) == 1
        assert {InspectionKind.county, InspectionKind.unannounced, InspectionKind.look_back} <= {
            i.kind for i in inspections
        }
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None
        coverage = next(p for p in campaign.phases if p.code == "county_coverage")
        for inspection in inspections:
            inspectors = [p for p in inspection.participants if p.role == "inspector"]
            assert len(inspectors) == 2 and all(p.user_id and p.badge_no for p in inspectors)
            assert inspection.device_id is not None and inspection.started_at is not None
            if inspection.status == InspectionStatus.draft:
                assert inspection.finished_at is None and inspection.sealed_record is None
                continue
            assert inspection.finished_at is not None and inspection.finished_at > inspection.started_at
            assert inspection.started_at.date() < date.today()
            if inspection.kind == InspectionKind.county and date.today() > coverage.ends_on:
                assert coverage.starts_on <= inspection.started_at.date() <= coverage.ends_on
            assert [p.role for p in inspection.participants].count("enterprise_rep") == 1
            # Signatures as the PWA records them, each kept as a blob.
            roles = sorted(s["role"] for s in inspection.signatures)
            assert roles == ["enterprise_rep", "inspector", "inspector"]
            for signature in inspection.signatures:
                assert {"role", "name", "sha256", "at"} == signature.keys()
                assert db.session.get(Blob, signature["sha256"]) is not None
        assert any(any(p.role == "expert" for p in i.participants) for i in inspections)
        decisions = db.session.scalars(sa.select(ReviewDecision)).all()
        for decision in decisions:
            assert decision.reviewer.username in ("xx_sup", "lx_sup")
            assert decision.decided_at > (decision.inspection.submitted_received_at or decision.decided_at)
        returned = [d for d in decisions if d.outcome == ReviewOutcome.return_]
        assert len(returned) == 1 and returned[0].comment
        assert returned[0].inspection.status == InspectionStatus.returned
        approved = {d.inspection_id for d in decisions if d.outcome == ReviewOutcome.approve}
        assert approved == {i.id for i in inspections if i.status == InspectionStatus.approved}


def test_every_applicable_item_is_answered_and_every_finding_has_a_hazard(app: Flask) -> None:
    with app.app_context():
        for inspection in db.session.scalars(sa.select(Inspection)):
            items = sorted(inspection.catalogue.items, key=lambda i: i.ordinal)
            needed = applicable_items(
                items, inspection.enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
            )
            answered = {r.item_code: r for r in inspection.results}
            if inspection.status != InspectionStatus.draft:
                assert set(answered) == {i.code for i in needed}
            hazards = {
                h.item_code
                for h in db.session.scalars(sa.select(Hazard).where(Hazard.inspection_id == inspection.id))
            }
            assert hazards == {c for c, r in answered.items() if r.result.value == "non_compliant"}
        notes = db.session.scalars(
            sa.select(ItemResult.note).where(ItemResult.note.contains("<script>"))
        ).all()
        assert notes == ["发酵罐区警示标志齐全。<script>alert(1)</script>"]
        values = {r.value for r in db.session.scalars(sa.select(ItemResult.result))}
        assert values == {"compliant", "non_compliant", "not_applicable"}


def test_seals_verify_except_the_deliberately_broken_one(app: Flask) -> None:
    with app.app_context():
        sealed = db.session.scalars(sa.select(Inspection).where(Inspection.sealed_record.is_not(None))).all()
        assert len(sealed) == db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Inspection)
            .where(Inspection.status != InspectionStatus.draft)
        )
        for inspection in sealed:
            device = db.session.get(Device, inspection.device_id)
            assert device is not None and inspection.sealed_record is not None
            again = check_seal(
                record_text=inspection.sealed_record, sealed_sha256=inspection.sealed_sha256,
                signature=inspection.device_signature, jwk=device.public_key_jwk, inspection_id=str(inspection.id),
                results={r.item_code: str(r.result) for r in inspection.results},
            )  # fmt: skip
            assert (inspection.seal_verified, inspection.seal_problem) == (again.verified, again.problem)
            record = json.loads(inspection.sealed_record)
            # The shape of the PWA's sealed record (src/domain/seal.js), canonical JSON.
            assert record.keys() == {"v", "inspection", "results", "hazards", "photos"}
            assert inspection.sealed_record == json.dumps(
                record, ensure_ascii=False, sort_keys=True, separators=(",", ":")
            )
            # What was photographed during the visit: answers and hazards (not later "after" photos).
            evidence = [r.id for r in inspection.results] + [uuid.UUID(h["id"]) for h in record["hazards"]]
            photos = db.session.scalars(sa.select(Photo.sha256).where(Photo.entity_id.in_(evidence))).all()
            assert sorted(photos) == record["photos"]
        broken = [i for i in sealed if not i.seal_verified]
        assert len(broken) == 1
        assert "differ" in (broken[0].seal_problem or "")


def _status(hazard: Hazard) -> rules.HazardStatus:
    events = sorted(hazard.events, key=lambda e: e.at)
    return rules.replay(
        [rules.HazardEvent(e.kind, e.at, e.deadline, e.comment or "") for e in events], hazard.level
    )


def test_hazards_cover_every_state_with_the_major_ones_fully_recorded(app: Flask) -> None:
    with app.app_context():
        hazards = db.session.scalars(sa.select(Hazard)).all()
        # A withdrawn hazard is deleted, seen nowhere: the demo has no use for one.
        assert {h.state for h in hazards} == set(HazardState) - rules.VOID_STATES
        for hazard in hazards:
            status = _status(hazard)
            assert (hazard.state, hazard.deadline, hazard.listed) == (
                status.state,
                status.deadline,
                status.listed,
            )
            item = db.session.scalar(sa.select(CatalogueItem).where(CatalogueItem.code == hazard.item_code))
            assert item is not None
            assert hazard.level == item.default_level or hazard.level_reason
            assert hazard.terms["responsible_person"] and hazard.terms["measures"] and hazard.funds_yuan
            assert hazard.inspection_id is not None and hazard.place
        today = date.today()
        assert sum(_status(h).is_overdue(today) for h in hazards) >= 2
        majors = [h for h in hazards if h.level == HazardLevel.major]
        assert len(majors) >= 2
        for hazard in majors:
            assert hazard.five_in_place and hazard.treatment_plan
            assert hazard.reported_to_regulator_on and hazard.reported_to_workers_congress_on
        listed = [h for h in majors if h.listed]
        assert len(listed) == 1
        assert listed[0].supervision_level == "市级" and listed[0].supervision_no
        assert listed[0].state in (HazardState.found, HazardState.planned)
        assert any(h.stop_production for h in majors)
        kinds = {e.kind for h in hazards for e in h.events}
        assert HazardEventKind.deadline_extended in kinds and HazardEventKind.listed in kinds


def test_several_enterprises_are_cleared_and_several_are_not(app: Flask) -> None:
    with app.app_context():
        key_items = db.session.scalars(sa.select(CatalogueItem).where(CatalogueItem.section == "key")).all()
        verdicts = {}
        inspected = db.session.scalars(
            sa.select(Enterprise).join(Inspection, Inspection.enterprise_id == Enterprise.id)
        )
        for enterprise in set(inspected):
            inspections = db.session.scalars(
                sa.select(Inspection).where(Inspection.enterprise_id == enterprise.id)
            )
            latest = latest_counting_inspection(
                InspectionSummary(str(i.id), i.kind.value, i.status.value, i.finished_at,
                                  {r.item_code: r.result for r in i.results})
                for i in inspections
            )  # fmt: skip
            hazards = db.session.scalars(sa.select(Hazard).where(Hazard.enterprise_id == enterprise.id))
            codes = [i.code for i in applicable_items(key_items, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when))]  # fmt: skip
            verdicts[enterprise.name] = clearance(
                codes, latest, [LinkedHazard(h.item_code, h.state) for h in hazards],
                all_key_codes=[i.code for i in key_items],
            ).cleared  # fmt: skip
    assert sum(verdicts.values()) >= 5 and sum(not v for v in verdicts.values()) >= 5
    # Cleared after its hazards were accepted and closed; held back by an open major hazard.
    assert verdicts["兴县盛达煤气化有限公司"] and not verdicts["兴县晋兴特钢有限公司"]


def _facts(row: Photo | Blob) -> tuple[object, ...]:
    return (row.size, row.mime, row.width, row.height, row.exif_taken_at, row.exif_lat, row.exif_lon)


def test_photo_bytes_are_stored_as_uploads_are(app: Flask, demo_media: Path) -> None:
    with app.app_context():
        store = current_backend().blobs
        photos = db.session.scalars(sa.select(Photo)).all()
        for photo in photos:
            blob = db.session.get(Blob, photo.sha256)
            assert blob is not None and blob.has_thumbnail
            assert hashlib.sha256(store.path(photo.sha256).read_bytes()).hexdigest() == photo.sha256
            assert store.thumbnail_path(photo.sha256).is_file()
            # The facts ingest read from the bytes, copied onto the record as the upload path copies them.
            assert _facts(photo) == _facts(blob)
            assert photo.device_id is not None and photo.captured_at is not None
            assert photo.captured_at < photo.received_at
        hazards = db.session.scalars(sa.select(Hazard.id)).all()
        with_photos = {p.entity_id for p in photos if p.entity_type == "hazard"}
        assert set(hazards) <= with_photos
        assert any(p.entity_type == "item_result" for p in photos)
        # Every rectification reported has its "after" photo, for the before/after view.
        reported = db.session.scalars(
            sa.select(HazardEvent.id).where(HazardEvent.kind == HazardEventKind.rectification_reported)
        ).all()
        assert reported and set(reported) == {p.entity_id for p in photos if p.entity_type == "hazard_event"}


def test_the_odd_evidence_is_there_for_the_review_page(app: Flask) -> None:
    with app.app_context():
        inspections = db.session.scalars(sa.select(Inspection).where(Inspection.start_lat.is_not(None))).all()
        away = {
            i.enterprise.name: distance_m(i.start_lat or 0, i.start_lon or 0, i.enterprise.lat or 0, i.enterprise.lon or 0)
            for i in inspections
        }  # fmt: skip
        far = {name: metres for name, metres in away.items() if metres > 1000}
        assert list(far) == ["山西吕梁兴达铸钢有限公司"] and 4500 < far["山西吕梁兴达铸钢有限公司"] < 5500
        assert all(metres < 100 for name, metres in away.items() if name not in far)

        photos = db.session.scalars(sa.select(Photo)).all()
        no_exif = [p for p in photos if p.exif_taken_at is None and p.exif_lat is None]
        assert len(no_exif) == 1
        with_exif = [p for p in photos if p not in no_exif]
        assert all(p.exif_taken_at and p.exif_lat is not None for p in with_exif)
        gps_off = [
            p for p in with_exif if distance_m(p.lat or 0, p.lon or 0, p.exif_lat or 0, p.exif_lon or 0) > 100
        ]
        assert len(gps_off) == 1
        assert 2500 < distance_m(gps_off[0].lat or 0, gps_off[0].lon or 0, gps_off[0].exif_lat or 0,
                                 gps_off[0].exif_lon or 0) < 3500  # fmt: skip
        skew = [abs(p.exif_taken_at - p.captured_at) for p in with_exif if p.exif_taken_at and p.captured_at]
        assert len(skew) == len(with_exif)
        late = [gap for gap in skew if gap > timedelta(minutes=1)]
        assert len(late) == 1 and timedelta(hours=2) < late[0] < timedelta(hours=2, minutes=30)
        assert [p.accuracy_m for p in photos if (p.accuracy_m or 0) > 50] == [80.0]


def test_demo_rows_are_numbered_for_sync_and_reach_their_inspector(app: Flask) -> None:
    with app.app_context():
        for model in (Inspection, ItemResult, Hazard, HazardEvent, Photo, ReviewDecision):
            assert issubclass(model, SyncMixin)
            unnumbered = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(model)
                .where(sa.or_(model.change_no <= 0, model.row_version < 1))
            )
            assert unnumbered == 0, model.__name__
        devices = db.session.scalars(sa.select(Device)).all()
        assert sorted(d.user.username for d in devices) == ["lx_insp1", "xx_insp1", "xx_insp2"]
        assert all(d.public_key_jwk and d.last_seen_at and d.last_seq > 0 for d in devices)
        silent = [d.user.username for d in devices if d.last_seen_at < datetime.now(UTC) - timedelta(days=9)]
        assert silent == ["lx_insp1"]
        user = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        assert user is not None
        own = {
            str(i)
            for i in db.session.scalars(sa.select(Inspection.id).where(Inspection.created_by_id == user.id))
        }
    # A new tablet of the same inspector receives the demo's inspections, answers, photos and reviews.
    tablet = Tablet(app, "xx_insp1")
    changes, _, _ = tablet.pull_all()
    by_entity = defaultdict(set)
    for change in changes:
        by_entity[change["entity"]].add(change["id"])
    assert own <= by_entity["inspection"]
    assert by_entity["photo"] and by_entity["item_result"] and by_entity["review_decision"]
