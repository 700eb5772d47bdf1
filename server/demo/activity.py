"""Demo activity: tablets, inspections, answers, hazards through every state, photos and seals.

The supervisors' pages (coverage, 清零, hazard ledger, review with photo evidence, devices) are empty on a
fresh demo county; this adds what a few months of the campaign would have left behind. Everything is
deterministic (fixed ids from uuid5, seeded random streams) and laid relative to ``today``, and it is
written the way the sync path writes it: hazards through record_hazard/append_event, photo bytes through
the app's blob store and on_blob_complete, seals checked by the server's own check_seal.

A few records are wrong on purpose, for the review page to flag: an inspection whose recorded positions
are 5 km from the enterprise, a seal whose answers differ from those stored, photos whose EXIF position
or time disagree with what the device claimed, a photo without EXIF, a fix 80 m uncertain, and an
answer note holding markup that the pages must show as text.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import random
import secrets
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy.orm import Session

from server import credentials
from server.demo.pictures import PHOTO_SIZE, photo_jpeg, signature_png
from server.demo.script import (
    CITY,
    DEVICES,
    DOWNGRADE,
    ENTERPRISE_ACCOUNTS,
    EVENT_SHARE,
    EXPERT,
    GIVEN,
    NOT_APPLICABLE,
    PATHS,
    PLAIN_NOTES,
    REVIEWERS,
    SURNAMES,
    UA,
    VISITS,
    Finding,
    Visit,
)
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardEventKind, HazardLevel
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome, status_after_review
from server.media.images import CHINA_TIME
from server.models import (
    Campaign,
    Catalogue,
    Device,
    Enterprise,
    Hazard,
    HazardSource,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    ReviewDecision,
    User,
)
from server.models.base import utcnow
from server.services import DbSession
from server.services.hazards import append_event, record_hazard
from server.services.seal import check_seal
from sync.backend import SyncBackend
from sync.blobs import BlobStore

#: Every demo id is uuid5 of this namespace and a readable name, so a second run finds the first's rows.
NAMESPACE = uuid.UUID("5b0c7a2e-3f41-4d8e-9c6b-20260502d3a0")

#: The P-256 group order: a private key is an integer in [1, ORDER - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def demo_id(name: str) -> uuid.UUID:
    """The fixed id of the demo row called ``name``."""
    return uuid.uuid5(NAMESPACE, name)


@dataclass
class ActivitySummary:
    """What this run created (zero everywhere on a second run)."""

    devices: int = 0
    inspections: int = 0
    hazards: int = 0
    photos: int = 0
    blobs: int = 0


# --- the run ----------------------------------------------------------------------------------------------


def seed_activity(
    session: DbSession, backend: SyncBackend, catalogue: Catalogue, today: date
) -> ActivitySummary:
    """Create whatever part of the demo activity is missing (each inspection whole, or not at all)."""
    summary = ActivitySummary()
    # Writing a blob syncs it to disk twice; a few threads overlap that waiting with the drawing.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="demo-blobs") as writers:
        run = _Run(session, backend, catalogue, today, summary, writers)
        for visit in VISITS:
            if session.get(Inspection, demo_id(f"inspection/{visit.key}")) is None:
                run.visit(visit)
        run.finish()
    session.flush()
    return summary


class _Run:
    """One seeding run: the users, devices, clock and phase windows every visit needs."""

    def __init__(
        self,
        session: DbSession,
        backend: SyncBackend,
        catalogue: Catalogue,
        today: date,
        summary: ActivitySummary,
        writers: ThreadPoolExecutor,
    ) -> None:
        self.session, self.backend, self.catalogue = session, backend, catalogue
        self.today, self.summary, self.writers = today, summary, writers
        #: Blobs being written (sha256 → whether this run stored it), ingested in finish().
        self.blobs: dict[str, Future[bool]] = {}
        # Never later than the real clock, so that "last seen 2 hours ago" is true when seeding today.
        self.now = min(utcnow(), datetime.combine(today, time(18, 0), tzinfo=CHINA_TIME).astimezone(UTC))
        self.users = {u.username: u for u in session.scalars(sa.select(User))}
        self.items = sorted(catalogue.items, key=lambda i: i.ordinal)
        self.terms = [str(term[0]) for term in catalogue.five_terms or [] if str(term[0]) != "deadline"]
        self.county_window, self.look_back_window = self._windows()
        # Mutations each device would have pushed, for the sequence number of devices made now.
        self.writes: Counter[uuid.UUID] = Counter()
        self.created_devices: set[uuid.UUID] = set()
        self.devices = {
            name: self._device(name, label, camera[1], seen) for name, label, camera, seen in DEVICES
        }
        self.cameras = {demo_id(f"device/{name}"): camera for name, _label, camera, _seen in DEVICES}

    # -- time ----------------------------------------------------------------------------------------------

    def _windows(self) -> tuple[tuple[date, date], tuple[date, date]]:
        """The days county inspections and look-back inspections fall in, from the campaign's phases."""
        code = f"xingxian-{self.today.year}-dajiancha"
        campaign = self.session.scalar(sa.select(Campaign).where(Campaign.code == code))
        phases = {p.code: p for p in campaign.phases} if campaign is not None else {}
        fallback = (self.today - timedelta(days=80), self.today - timedelta(days=5))
        county = fallback
        if "county_coverage" in phases:
            phase = phases["county_coverage"]
            end = min(phase.ends_on, self.today - timedelta(days=2))
            # Early in the year the phase has not run yet: the visits then fall in the weeks before today.
            if (end - phase.starts_on).days >= 14:
                county = (phase.starts_on, end)
        look_back = county
        if "look_back" in phases:
            phase = phases["look_back"]
            end = min(phase.ends_on, self.today - timedelta(days=1))
            if end > phase.starts_on:
                look_back = (phase.starts_on, end)
        return county, look_back

    def _day(self, visit: Visit) -> date:
        start, end = self.look_back_window if visit.kind == InspectionKind.look_back else self.county_window
        return start + timedelta(days=round(visit.when * (end - start).days))

    # -- devices -------------------------------------------------------------------------------------------

    def _device(self, username: str, label: str, model: str, silent: timedelta) -> Device:
        device_id = demo_id(f"device/{username}")
        device = self.session.get(Device, device_id)
        if device is not None:
            return device
        key = _device_key(device_id)
        numbers = key.public_key().public_numbers()
        device = Device(
            id=device_id,
            user_id=self.users[username].id,
            # A token nobody was ever shown: the demo tablets exist, but no one can sync as them.
            token_hash=credentials.token_digest(secrets.token_urlsafe(32)),
            public_key_jwk={
                "kty": "EC",
                "crv": "P-256",
                "x": _b64url(numbers.x.to_bytes(32, "big")),
                "y": _b64url(numbers.y.to_bytes(32, "big")),
            },
            label=label,
            user_agent=UA.format(model=model),
            created_at=datetime.combine(self.county_window[0] - timedelta(days=6), time(1, 30), tzinfo=UTC),
            last_seen_at=self.now - silent,
            last_seq=0,
        )
        self.session.add(device)
        self.created_devices.add(device_id)
        self.summary.devices += 1
        return device

    def finish(self) -> None:
        """Ingest the blobs written, and give new devices the sequence number their pushes reached."""
        # As when a tablet's photo records arrive before their bytes: ingest copies each blob's facts
        # (type, size, EXIF) onto the photo records naming it.
        for sha, written in self.blobs.items():
            self.summary.blobs += written.result()
            # db.session is a scoped_session, which hands every call on to the Session it stands for.
            self.backend.on_blob_complete(cast(Session, self.session), sha)
        for device in self.devices.values():
            if device.id in self.created_devices:
                device.last_seq = self.writes[device.id]

    # -- one visit -----------------------------------------------------------------------------------------

    def visit(self, visit: Visit) -> None:
        """Create one inspection with its answers, hazards, photos, signatures, seal and review."""
        session, rng = self.session, random.Random(f"demo-activity/{visit.key}")
        enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.name == visit.enterprise))
        if enterprise is None or enterprise.lat is None or enterprise.lon is None:
            return  # the county was edited; there is nothing to inspect
        inspector, partner = self.users[visit.inspector], self.users[visit.partner]
        device = self.devices[visit.inspector]
        draft = visit.status == InspectionStatus.draft
        if draft:
            # Yesterday afternoon, still open: the inspector has not finished the checklist yet.
            yesterday = datetime.combine(self.today - timedelta(days=1), time(14, 10), tzinfo=CHINA_TIME)
            started = yesterday.astimezone(UTC) + timedelta(minutes=rng.randrange(0, 50))
        else:
            day = self._day(visit)
            started = datetime.combine(day, time(8, 40), tzinfo=CHINA_TIME).astimezone(UTC)
            started += timedelta(minutes=rng.randrange(0, 110))
        duration = timedelta(minutes=rng.randrange(100, 200))
        finished = None if draft else started + duration
        # Offline on site: everything reaches the server when the tablet is back in coverage.
        received = started + duration + timedelta(minutes=rng.randrange(20, 180))
        base = (enterprise.lat, enterprise.lon)
        if visit.far:
            base = _offset(base, rng.uniform(4800, 5300), rng.uniform(0, 360))
        start_pos = _offset(base, rng.uniform(15, 90), rng.uniform(0, 360))
        end_pos = _offset(base, rng.uniform(15, 90), rng.uniform(0, 360))

        inspection = Inspection(
            id=demo_id(f"inspection/{visit.key}"),
            enterprise=enterprise,
            enterprise_id=enterprise.id,
            catalogue=self.catalogue,
            catalogue_id=self.catalogue.id,
            kind=visit.kind,
            status=InspectionStatus.draft if draft else InspectionStatus.submitted,
            created_by_id=inspector.id,
            device_id=device.id,
            started_at=started,
            finished_at=finished,
            received_at=received,
            submitted_received_at=None if draft else received,
            start_lat=round(start_pos[0], 6),
            start_lon=round(start_pos[1], 6),
            start_accuracy_m=round(rng.uniform(5, 25), 1),
            end_lat=None if draft else round(end_pos[0], 6),
            end_lon=None if draft else round(end_pos[1], 6),
            end_accuracy_m=None if draft else round(rng.uniform(5, 25), 1),
            created_at=received,
            updated_at=received,
        )
        participants = [
            InspectionParticipant(ordinal=0, role="inspector", user_id=inspector.id, name=inspector.display_name,
                                  badge_no=inspector.badge_no),
            InspectionParticipant(ordinal=1, role="inspector", user_id=partner.id, name=partner.display_name,
                                  badge_no=partner.badge_no),
        ]  # fmt: skip
        if visit.expert:
            expert = self.users[EXPERT]
            participants.append(
                InspectionParticipant(ordinal=2, role="expert", user_id=expert.id, name=expert.display_name)
            )
        rep = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if not draft:
            participants.append(
                InspectionParticipant(ordinal=len(participants), role="enterprise_rep", name=rep)
            )
        inspection.participants = participants
        session.add(inspection)
        session.flush()
        self.summary.inspections += 1
        self.writes[device.id] += 3  # started, signed, submitted

        # Answers: every item that applies, in catalogue order; a draft is half done.
        needed = applicable_items(
            self.items, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
        )
        findings = {f.code: f for f in visit.findings}
        for code in findings:
            if code not in {i.code for i in needed}:
                raise ValueError(f"demo finding {code} does not apply to {enterprise.name}")
        answered = needed[: len(needed) // 2] if draft else needed
        step = (duration - timedelta(minutes=25)) / max(1, len(answered))
        results: dict[str, ItemResult] = {}
        for index, item in enumerate(answered):
            value, note = ItemResultValue.compliant, visit.notes.get(item.code)
            if item.code in findings:
                value, note = ItemResultValue.non_compliant, findings[item.code].description
            elif item.code in NOT_APPLICABLE and rng.random() < 0.5:
                value, note = ItemResultValue.not_applicable, NOT_APPLICABLE[item.code]
            elif note is None and rng.random() < 0.2:
                note = rng.choice(PLAIN_NOTES)
            row = ItemResult(
                id=demo_id(f"item_result/{visit.key}/{item.code}"),
                inspection=inspection,
                inspection_id=inspection.id,
                item_code=item.code,
                result=value,
                note=note,
                answered_at=(started + timedelta(minutes=10) + step * index).replace(microsecond=0),
                created_at=received,
                updated_at=received,
            )
            session.add(row)
            results[item.code] = row
            self.writes[device.id] += 1
        session.flush()

        # Evidence photos of compliant answers: one per visit, two when an expert came along.
        sealed_photos: list[str] = []
        compliant = [
            c for c, r in results.items() if r.result == ItemResultValue.compliant and not c.startswith("MG")
        ]
        for n, code in enumerate(rng.sample(compliant, min(len(compliant), 2 if visit.expert else 1))):
            row = results[code]
            assert row.answered_at is not None
            photo = self._photo(
                f"{visit.key}/item/{code}", "item_result", row.id, device, row.answered_at + timedelta(seconds=40),
                received, _offset(start_pos, rng.uniform(10, 60), rng.uniform(0, 360)), rng, scene=f"{visit.key}/item{n}",
            )  # fmt: skip
            sealed_photos.append(photo.sha256)

        hazards = [
            self._hazard(visit, finding, inspection, results[finding.code], device, received, start_pos, rng,
                         sealed_photos)
            for finding in visit.findings
        ]  # fmt: skip
        if draft:
            return

        assert finished is not None
        signatures = []
        for role, name, before in (
            ("inspector", inspector.display_name, 7),
            ("inspector", partner.display_name, 5),
            ("enterprise_rep", rep, 3),
        ):
            sha = self._store(signature_png(random.Random(f"{visit.key}/signature/{name}")))
            signatures.append(
                {"role": role, "name": name, "sha256": sha, "at": _iso(finished - timedelta(minutes=before))}
            )
        inspection.signatures = signatures
        inspection.summary_note = _summary_note(visit, len(answered))
        self._seal(visit, inspection, device, participants, results, hazards, sealed_photos)
        self._review(visit, inspection, received, rng)

    # -- sealing and review --------------------------------------------------------------------------------

    def _seal(
        self,
        visit: Visit,
        inspection: Inspection,
        device: Device,
        participants: list[InspectionParticipant],
        results: dict[str, ItemResult],
        hazards: list[tuple[Hazard, date]],
        photos: list[str],
    ) -> None:
        """Sign the record as the PWA does (src/domain/seal.js) and check it as the sync path does."""
        assert inspection.started_at is not None and inspection.finished_at is not None
        answers = [[code, row.result.value, row.note] for code, row in sorted(results.items())]
        if visit.broken_seal:
            # The device sealed a finding that the stored answers no longer show.
            flipped = next(a for a in answers if a[1] == ItemResultValue.compliant.value)
            flipped[1], flipped[2] = ItemResultValue.non_compliant.value, "现场发现问题，待补充隐患记录。"
        sealed_hazards = [
            {"id": str(h.id), "item_code": h.item_code, "level": h.level.value, "description": h.description,
             "deadline": deadline.isoformat()}
            for h, deadline in sorted(hazards, key=lambda pair: str(pair[0].id))
        ]  # fmt: skip
        record = {
            "v": 1,
            "inspection": {
                "id": str(inspection.id),
                "enterprise_id": str(inspection.enterprise_id),
                "catalogue_id": str(inspection.catalogue_id),
                "kind": inspection.kind.value,
                "started_at": _iso(inspection.started_at),
                "finished_at": _iso(inspection.finished_at),
                # As the tablet held them when sealing: the enterprise's representative is added on submit.
                "participants": [
                    {"role": p.role, "user_id": p.user_id, "name": p.name, "badge_no": p.badge_no}
                    for p in participants
                    if p.role != "enterprise_rep"
                ],
                "signatures": inspection.signatures,
            },
            "results": answers,
            "hazards": sealed_hazards,
            "photos": sorted(photos),
        }
        text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        data = text.encode("utf-8")
        r, s = decode_dss_signature(_device_key(device.id).sign(data, ec.ECDSA(hashes.SHA256())))
        inspection.sealed_record = text
        inspection.sealed_sha256 = hashlib.sha256(data).hexdigest()
        inspection.device_signature = _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        check = check_seal(
            record_text=text,
            sealed_sha256=inspection.sealed_sha256,
            signature=inspection.device_signature,
            jwk=device.public_key_jwk,
            inspection_id=str(inspection.id),
            results={code: str(row.result) for code, row in results.items()},
        )
        inspection.seal_verified, inspection.seal_problem = check.verified, check.problem

    def _review(self, visit: Visit, inspection: Inspection, received: datetime, rng: random.Random) -> None:
        """The county supervisor's decision, a day or three after the inspection came in."""
        if visit.status not in (InspectionStatus.approved, InspectionStatus.returned):
            return
        outcome = (
            ReviewOutcome.approve if visit.status == InspectionStatus.approved else ReviewOutcome.return_
        )
        decided = received + timedelta(days=rng.randrange(1, 4), hours=rng.randrange(0, 6))
        decided = max(received + timedelta(hours=1), min(decided, self.now - timedelta(hours=3)))
        reviewer = self.users[REVIEWERS[visit.key[:2]]]
        self.session.add(
            ReviewDecision(
                id=demo_id(f"review/{visit.key}"),
                inspection=inspection,
                inspection_id=inspection.id,
                reviewer_id=reviewer.id,
                reviewer=reviewer,
                outcome=outcome,
                comment=visit.returned_because or None,
                decided_at=decided,
            )
        )
        inspection.status = status_after_review(inspection.status, outcome) or inspection.status
        inspection.updated_at = decided
        inspection.row_version += 1

    # -- hazards -------------------------------------------------------------------------------------------

    def _hazard(
        self,
        visit: Visit,
        finding: Finding,
        inspection: Inspection,
        answer: ItemResult,
        device: Device,
        received: datetime,
        site: tuple[float, float],
        rng: random.Random,
        sealed_photos: list[str],
    ) -> tuple[Hazard, date]:
        """Record the hazard of a finding, take its photos and walk it along its path to today."""
        assert answer.answered_at is not None
        item = next(i for i in self.items if i.code == finding.code)
        found_at = answer.answered_at + timedelta(minutes=2)
        major = finding.major is not None
        level = HazardLevel.major if major else HazardLevel.general
        # Deadlines are chosen so that each hazard sits where its path says, relative to today.
        deadline = found_at.date() + timedelta(days=60 if major else 20)
        if finding.path == "overdue":
            deadline = max(
                found_at.date(), min(found_at.date() + timedelta(days=15), self.today - timedelta(days=1))
            )
        elif finding.path == "open":
            deadline = self.today + timedelta(days=15)
        elif finding.path == "planned":
            deadline = self.today + timedelta(days=12)
        elif finding.path == "listed":
            deadline = self.today + timedelta(days=45)
        account = ENTERPRISE_ACCOUNTS.get(visit.enterprise)
        path = PATHS[finding.path]
        worker = rng.choice(SURNAMES) + rng.choice(GIVEN)
        # Who fixed it and who accepted it are filled in once that has happened.
        people = {
            "responsible_person": inspection.enterprise.main_person or "",
            "measures": finding.measures,
            "completed_by": worker if HazardEventKind.rectification_reported in path else "",
            "accepted_by": self.users[visit.inspector].display_name
            if HazardEventKind.accepted in path
            else "",
        }
        terms = {key: people.get(key, "") for key in self.terms}
        extra: dict[str, Any] = {}
        if finding.major is not None:
            extra = {
                "five_in_place": finding.major.five_in_place,
                "treatment_plan": finding.major.treatment_plan,
                "stop_production": finding.major.stop_production,
                "reported_to_regulator_on": found_at.date() + timedelta(days=1),
                "reported_to_workers_congress_on": found_at.date() + timedelta(days=6),
            }
        funds = finding.major.funds if finding.major else rng.randrange(8, 120) * 100
        hazard_id = demo_id(f"hazard/{visit.key}/{finding.code}")
        hazard = record_hazard(
            self.session, enterprise=inspection.enterprise, description=finding.description, level=level,
            found_at=found_at, deadline=deadline, source=HazardSource.inspection, hazard_id=hazard_id,
            found_event_id=uuid.uuid5(hazard_id, "found"), device=device, actor=None, inspection_id=inspection.id,
            item_code=finding.code, place=finding.place,
            level_reason=None if level == item.default_level else DOWNGRADE,
            terms=terms, funds_yuan=Decimal(funds), **extra,
        )  # fmt: skip
        hazard.created_at = hazard.updated_at = received
        for event in hazard.events:
            event.received_at = received
        self.summary.hazards += 1
        self.writes[device.id] += 1

        for n in range(finding.photos):
            taken = found_at + timedelta(seconds=30 + 50 * n)
            photo = self._photo(
                f"{visit.key}/hazard/{finding.code}/{n}", "hazard", hazard.id, device, taken, received,
                _offset(site, rng.uniform(10, 60), rng.uniform(0, 360)), rng, scene=f"{visit.key}/{finding.code}/{n}",
                evidence=finding.evidence if n == 0 else "",
            )  # fmt: skip
            sealed_photos.append(photo.sha256)

        self._events(visit, finding, hazard, path, found_at, deadline, device, account, site, rng)
        return hazard, deadline

    def _events(
        self,
        visit: Visit,
        finding: Finding,
        hazard: Hazard,
        path: tuple[HazardEventKind, ...],
        found_at: datetime,
        deadline: date,
        device: Device,
        account: str | None,
        site: tuple[float, float],
        rng: random.Random,
    ) -> None:
        """Append the path's events, each by whoever records it in practice, spaced out until now."""
        span = min(self.now - timedelta(hours=12) - found_at, timedelta(days=40))
        supervisor = self.users[REVIEWERS[visit.key[:2]]]
        for kind in path:
            at = found_at + span * (EVENT_SHARE[kind] + rng.uniform(0, 0.015))
            at = at.replace(microsecond=0)
            actor, comment, data = self.users[visit.inspector], None, None
            by_device: Device | None = device
            event_deadline = None
            if kind == HazardEventKind.rectification_planned:
                comment = "已制定整改方案，明确责任人、资金和期限。"
                if account is not None:
                    actor, by_device = self.users[account], None
            elif kind == HazardEventKind.rectification_reported:
                comment = "整改完成，附整改后照片。"
            elif kind == HazardEventKind.rejected:
                comment = finding.rejection
            elif kind == HazardEventKind.accepted:
                comment = "复查验收合格。"
            elif kind == HazardEventKind.deadline_extended:
                actor, by_device = supervisor, None
                comment = "验收未通过，限期重新整改。"
                event_deadline = max(self.today + timedelta(days=14), deadline + timedelta(days=7))
            elif kind == HazardEventKind.closed:
                actor, by_device, comment = supervisor, None, "整改验收合格，予以销号。"
            elif kind == HazardEventKind.listed:
                actor, by_device, comment = self.users[CITY], None, "重大事故隐患，实行市级挂牌督办。"
                data = {"supervision_level": "市级", "supervision_no": f"吕安办督〔{found_at.year}〕7号"}
            event = append_event(
                self.session, hazard, kind, at, deadline=event_deadline, comment=comment, actor=actor,
                device=by_device, data=data, event_id=uuid.uuid5(hazard.id, kind.value),
            )  # fmt: skip
            # Tablets sync some hours later; the web writes at once.
            event.received_at = at + timedelta(minutes=rng.randrange(30, 300)) if by_device else at
            hazard.updated_at = event.received_at
            if by_device is not None:
                self.writes[by_device.id] += 1
            if data is not None:
                hazard.supervision_level, hazard.supervision_no = (
                    data["supervision_level"],
                    data["supervision_no"],
                )
            if kind == HazardEventKind.rectification_reported:
                # The same spot after the fix, so that a page can set the two side by side.
                self._photo(
                    f"{visit.key}/after/{finding.code}", "hazard_event", event.id, device, at - timedelta(minutes=12),
                    event.received_at, _offset(site, rng.uniform(10, 60), rng.uniform(0, 360)), rng,
                    scene=f"{visit.key}/{finding.code}/0", fixed=True,
                )  # fmt: skip

    # -- photos and blobs ----------------------------------------------------------------------------------

    def _photo(
        self,
        name: str,
        entity_type: str,
        entity_id: uuid.UUID,
        device: Device,
        taken: datetime,
        received: datetime,
        position: tuple[float, float],
        rng: random.Random,
        *,
        scene: str,
        fixed: bool = False,
        evidence: str = "",
    ) -> Photo:
        """A photo record and its JPEG, stored as an upload would store it; ``evidence`` makes it odd."""
        taken = taken.replace(microsecond=0)
        accuracy = 80.0 if evidence == "coarse" else round(rng.uniform(4, 18), 1)
        exif_position: tuple[float, float] | None = _offset(position, rng.uniform(2, 8), rng.uniform(0, 360))
        exif_time: datetime | None = taken + timedelta(seconds=rng.randrange(0, 3))
        if evidence == "gps_off":
            exif_position = _offset(position, rng.uniform(2900, 3200), rng.uniform(0, 360))
        elif evidence == "time_off":
            # Taken some two hours before the visit, not a whole number of hours (which would read as a
            # camera set to another time zone rather than a photo from another time).
            exif_time = taken - timedelta(hours=2, minutes=17, seconds=40)
        elif evidence == "no_exif":
            exif_position = exif_time = None
        jpeg = photo_jpeg(
            random.Random(scene), fixed=fixed, stamp=(taken, position, accuracy), exif_time=exif_time,
            exif_position=exif_position, camera=self.cameras.get(device.id, ("HUAWEI", "BAH3-W09")),
        )  # fmt: skip
        sha = self._store(jpeg)
        photo = Photo(
            id=demo_id(f"photo/{name}"),
            sha256=sha,
            captured_at=taken,
            received_at=received,
            lat=round(position[0], 6),
            lon=round(position[1], 6),
            accuracy_m=accuracy,
            fix_at=taken - timedelta(seconds=rng.randrange(2, 40)),
            device_id=device.id,
            entity_type=entity_type,
            entity_id=entity_id,
            mime="image/jpeg",
            size=len(jpeg),
            width=PHOTO_SIZE[0],
            height=PHOTO_SIZE[1],
        )
        self.session.add(photo)
        self.summary.photos += 1
        self.writes[device.id] += 1
        return photo

    def _store(self, data: bytes) -> str:
        """Start keeping ``data`` in the blob store; return its SHA-256 (finish() ingests it)."""
        sha = hashlib.sha256(data).hexdigest()
        if sha not in self.blobs:
            self.blobs[sha] = self.writers.submit(_write_blob, self.backend.blobs, sha, data)
        return sha


# --- helpers ----------------------------------------------------------------------------------------------


def _write_blob(store: BlobStore, sha: str, data: bytes) -> bool:
    """Keep ``data`` as an upload does (append, then hash-checked completion); False if already kept.

    Runs in a worker thread: it touches only the file system, never the session.
    """
    if store.has(sha):
        return False
    if store.received(sha):
        store.delete(sha)  # a partial left by an interrupted run; start again from 0
    store.append(sha, 0, io.BytesIO(data), len(data))
    store.complete(sha)
    return True


def _device_key(device_id: uuid.UUID) -> ec.EllipticCurvePrivateKey:
    """The demo tablet's P-256 key, derived from its id so that a later run can still sign with it.

    A real tablet's key never leaves it; this one is demo data like the rest, and the bearer token,
    which is what sync trusts, stays a random secret nobody has.
    """
    secret = int.from_bytes(hashlib.sha256(f"demo device key/{device_id}".encode()).digest(), "big")
    return ec.derive_private_key(secret % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _iso(moment: datetime) -> str:
    """A time as JavaScript's toISOString writes it (what the PWA records and seals)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _offset(origin: tuple[float, float], metres: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``metres`` from ``origin`` towards ``bearing_deg`` (flat-earth: a few km at most)."""
    lat, lon = origin
    bearing = math.radians(bearing_deg)
    dlat = metres * math.cos(bearing) / 111_320
    dlon = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _summary_note(visit: Visit, answered: int) -> str:
    """The inspection's closing note, as an inspector would write it."""
    if visit.kind == InspectionKind.look_back and not visit.findings:
        return "回头看复查：前次检查发现的隐患均已整改并验收销号，本次未发现新的事故隐患。"
    if not visit.findings:
        return f"共检查{answered}项重点及管理事项，均符合要求，未发现事故隐患。"
    majors = sum(1 for f in visit.findings if f.major is not None)
    found = f"发现事故隐患{len(visit.findings)}处" + (f"（其中重大事故隐患{majors}处）" if majors else "")
    return f"共检查{answered}项重点及管理事项，{found}，已当场向企业负责人反馈并下达整改要求。"
