"""Supervisors' review of submitted inspections: what the review shows (loaded in a handful of queries,
with every photo's evidence assessed) and the decision itself, which flows back to the tablet by sync."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from server.domain.evidence import (
    Flag,
    InspectionEvidence,
    InspectionFacts,
    PhotoEvidence,
    PhotoFacts,
    StoredRecord,
    assess_inspection,
    assess_photo,
    hazard_answer_flags,
    seal_differences,
)
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome, status_after_review
from server.domain.roles import Role
from server.errors import (
    flagged_approval_unconfirmed,
    inspection_not_reviewable,
    review_comment_required,
    review_comment_too_long,
)
from server.models import (
    Blob,
    CatalogueItem,
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
from server.models.base import utcnow
from server.services import DbSession, audit
from server.services.oversight.contributions import ContributionCache, scope_tally
from server.services.oversight.stamped import change_stamp
from server.services.scope import visible_hazards, visible_inspections
from sync.blobs import BlobStore

#: How each status reads on the supervisor's pages.
STATUS_ZH = {
    InspectionStatus.draft: "检查中（草稿）",
    InspectionStatus.submitted: "待审核",
    InspectionStatus.approved: "已通过",
    InspectionStatus.returned: "已退回",
}
OUTCOME_ZH = {ReviewOutcome.approve: "通过", ReviewOutcome.return_: "退回"}
#: Section headings of the catalogue, in the order the review shows them.
SECTIONS_ZH = {"key": "重点检查事项", "management": "管理类检查内容"}
MAX_COMMENT_CHARS = 2000
PAGE_SIZE = 50
#: What server.media.images.make_thumbnail makes by default.
THUMBNAIL_LONG_EDGE = 480


# --- the decision -----------------------------------------------------------------------------------------


def review_inspection(
    session: DbSession,
    inspection: Inspection,
    reviewer: User,
    outcome: ReviewOutcome,
    comment: str | None,
    *,
    doubts: int = 0,
    confirmed: bool = False,
) -> ReviewDecision:
    """Approve or return a submitted inspection (a return needs a comment); audited, and pulled by the tablet.

    ``doubts`` is how many reasons for doubt the review page flags (ReviewData.doubtful): approving despite any
    needs ``confirmed`` (the reviewer ticked that they checked them) and a comment saying how.
    The caller checks the reviewer's role and scope, and commits.
    """
    # Re-read the status under a row lock: two supervisors pressing at once must not both decide.
    session.refresh(inspection, ["status", "row_version"], with_for_update=True)
    before = inspection.status
    after = status_after_review(before, outcome)
    if after is None:
        raise inspection_not_reviewable(status=before.value, status_zh=STATUS_ZH[before])
    text = (comment or "").strip() or None
    if outcome is ReviewOutcome.return_ and text is None:
        raise review_comment_required()
    if outcome is ReviewOutcome.approve and doubts and (not confirmed or text is None):
        raise flagged_approval_unconfirmed(flags=doubts)
    if text is not None and len(text) > MAX_COMMENT_CHARS:
        raise review_comment_too_long(limit=MAX_COMMENT_CHARS)
    decision = ReviewDecision(
        id=uuid.uuid4(), inspection_id=inspection.id, reviewer_id=reviewer.id, outcome=outcome, comment=text,
        decided_at=utcnow(), row_version=1,
    )  # fmt: skip
    session.add(decision)
    inspection.status = after
    # The version counts the row's writes, as sync does for every row; the commit then numbers the change,
    # which is what brings the new status to the tablet's next pull.
    inspection.row_version += 1
    session.flush()
    audit.record(session, reviewer, f"inspection.{outcome.value}", "inspection", inspection.id, {
        "decision_id": str(decision.id), "comment": text, "status_before": before.value, "status_after": after.value,
        "doubts": doubts, "doubts_confirmed": bool(doubts and confirmed),
    })  # fmt: skip
    return decision


# --- what the review page shows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoView:
    """A photo record, its stored blob (None while the bytes have not arrived) and its assessed evidence."""

    photo: Photo
    blob: Blob | None
    evidence: PhotoEvidence

    @property
    def viewable(self) -> bool:
        """Whether the bytes can be shown (received, verified and still in the store)."""
        return self.evidence.hash_verified

    @property
    def thumbnail_size(self) -> tuple[int, int] | None:
        """The upright thumbnail's size (long edge 480, never enlarged), so the page lays out before it loads."""
        if self.blob is None or not self.blob.width or not self.blob.height:
            return None
        width, height = self.blob.width, self.blob.height
        if self.blob.exif_orientation in (5, 6, 7, 8):  # stored turned a quarter: shown the other way round
            width, height = height, width
        scale = min(1.0, THUMBNAIL_LONG_EDGE / max(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class HazardView:
    """A hazard found in the inspection, with its photos."""

    hazard: Hazard
    photos: list[PhotoView]


@dataclass(frozen=True)
class ItemView:
    """One answered item: the catalogue's text (None for a code the catalogue lacks), the answer, evidence."""

    code: str
    item: CatalogueItem | None
    result: ItemResult
    photos: list[PhotoView]
    hazards: list[HazardView]


@dataclass(frozen=True)
class Section:
    """Items of one catalogue section, in catalogue order."""

    key: str
    title: str
    items: list[ItemView]


@dataclass(frozen=True)
class ReviewData:
    """Everything the review page and its API show about one inspection."""

    inspection: Inspection
    evidence: InspectionEvidence
    sections: list[Section]
    hazards: list[HazardView]
    inspection_photos: list[PhotoView]
    #: Catalogue items that have no answer (not applicable to this enterprise, or never answered).
    unanswered: int
    #: Every photo above in page order, and what each is called on the page ("DU-1 照片 2").
    photos: list[PhotoView]
    labels: dict[uuid.UUID, str]

    @property
    def doubtful(self) -> int:
        """How many reasons for doubt the page flags: the inspection's own and every photo's."""
        return len(self.evidence.flags) + sum(len(p.evidence.flags) for p in self.photos)

    @property
    def inspectors(self) -> list[Any]:
        """The law-enforcement officers who took part."""
        return [p for p in self.inspection.participants if p.role == "inspector"]

    @property
    def experts(self) -> list[Any]:
        """The experts who took part."""
        return [p for p in self.inspection.participants if p.role == "expert"]

    @property
    def representatives(self) -> list[Any]:
        """The enterprise's representatives."""
        return [p for p in self.inspection.participants if p.role == "enterprise_rep"]


def inspection_evidence(inspection: Inspection) -> InspectionEvidence:
    """The inspection's place, seal and team assessed against its enterprise's registered location."""
    if inspection.kind == InspectionKind.self_check:
        # The enterprise's own self-assessment, made on its portal: no team, place or device seal to weigh.
        return InspectionEvidence(start_distance_m=None, end_distance_m=None, flags=())
    facts = InspectionFacts(
        submitted=inspection.status != InspectionStatus.draft, finished=inspection.finished_at is not None,
        start_lat=inspection.start_lat, start_lon=inspection.start_lon, end_lat=inspection.end_lat,
        end_lon=inspection.end_lon, has_seal=inspection.sealed_record is not None,
        seal_verified=inspection.seal_verified, seal_problem=inspection.seal_problem,
        inspectors=sum(1 for p in inspection.participants if p.role == "inspector"),
    )  # fmt: skip
    return assess_inspection(facts, inspection.enterprise.lat, inspection.enterprise.lon)


def photo_view(
    photo: Photo, blob: Blob | None, enterprise: Enterprise, *, file_lost: bool = False
) -> PhotoView:
    """A photo with its evidence assessed against the enterprise's registered location."""
    facts = PhotoFacts(
        captured_at=photo.captured_at, received_at=photo.received_at, lat=photo.lat, lon=photo.lon,
        accuracy_m=photo.accuracy_m, fix_at=photo.fix_at,
        exif_taken_at=photo.exif_taken_at or (blob.exif_taken_at if blob else None),
        exif_lat=photo.exif_lat if photo.exif_lat is not None else (blob.exif_lat if blob else None),
        exif_lon=photo.exif_lon if photo.exif_lon is not None else (blob.exif_lon if blob else None),
        bytes_received=blob is not None, file_lost=file_lost,
    )  # fmt: skip
    return PhotoView(photo, blob, assess_photo(facts, enterprise.lat, enterprise.lon))


def _photos_of(
    session: DbSession,
    entities: dict[str, Iterable[uuid.UUID]],
    enterprise: Enterprise,
    store: BlobStore | None,
) -> dict[uuid.UUID, list[PhotoView]]:
    """Photos of these entities (type → ids) by entity id; two queries: photos on the indexed entity_id,
    then their blobs."""
    # Matched on the type too: ids are made on devices, and one table's id could be reused in another.
    wanted = [
        sa.and_(Photo.entity_type == entity_type, Photo.entity_id.in_(list(ids)))
        for entity_type, ids in entities.items()
    ]
    photos = session.scalars(
        sa.select(Photo)
        .where(sa.or_(*wanted), Photo.deleted_at.is_(None))
        .order_by(Photo.captured_at, Photo.received_at, Photo.id)
    ).all()
    shas = {p.sha256 for p in photos}
    blobs = (
        {b.sha256: b for b in session.scalars(sa.select(Blob).where(Blob.sha256.in_(shas)))} if shas else {}
    )
    grouped: dict[uuid.UUID, list[PhotoView]] = {}
    for photo in photos:
        blob = blobs.get(photo.sha256)
        lost = blob is not None and store is not None and not store.has(photo.sha256)
        grouped.setdefault(photo.entity_id, []).append(photo_view(photo, blob, enterprise, file_lost=lost))
    return grouped


def _seal_flags(
    record_text: str,
    results: Sequence[ItemResult],
    hazards: Sequence[Hazard],
    photos: dict[uuid.UUID, list[PhotoView]],
) -> tuple[Flag, ...]:
    """Where what the server holds now parts from what the device sealed."""
    try:
        sealed = json.loads(record_text)
    except ValueError:
        sealed = None
    stored = StoredRecord(
        answers={r.item_code: (r.result.value, r.note) for r in results},
        hazards={str(h.id): (h.item_code, h.level.value, h.description) for h in hazards},
        photo_hashes=frozenset(view.photo.sha256 for views in photos.values() for view in views),
    )
    return seal_differences(sealed, stored)


def load_review(
    session: DbSession, user: User, inspection_id: uuid.UUID, store: BlobStore | None = None
) -> ReviewData | None:
    """The review of one inspection in ``user``'s scope, or None (missing and out of scope look the same).

    With ``store``, each received photo's file is also looked for (a stat each), so lost media is flagged.
    """
    inspection = session.scalar(
        visible_inspections(session, user)
        .where(Inspection.id == inspection_id)
        .options(
            joinedload(Inspection.enterprise),
            selectinload(Inspection.participants),
            selectinload(Inspection.decisions).joinedload(ReviewDecision.reviewer),
        )
    )
    if inspection is None:
        return None
    enterprise = inspection.enterprise
    results = session.scalars(
        sa.select(ItemResult).where(
            ItemResult.inspection_id == inspection.id, ItemResult.deleted_at.is_(None)
        )
    ).all()
    items = {
        i.code: i
        for i in session.scalars(
            sa.select(CatalogueItem).where(CatalogueItem.catalogue_id == inspection.catalogue_id)
        )
    }
    hazards = session.scalars(
        sa.select(Hazard)
        .where(Hazard.inspection_id == inspection.id, Hazard.deleted_at.is_(None))
        .order_by(Hazard.found_at, Hazard.id)
    ).all()
    photos = _photos_of(
        session,
        {
            "inspection": [inspection.id],
            "item_result": [r.id for r in results],
            "hazard": [h.id for h in hazards],
        },
        enterprise,
        store,
    )

    hazard_views = [HazardView(h, photos.get(h.id, [])) for h in hazards]
    by_item: dict[str, list[HazardView]] = {}
    for view in hazard_views:
        if view.hazard.item_code:
            by_item.setdefault(view.hazard.item_code, []).append(view)

    def order(result: ItemResult) -> tuple[int, int, str]:
        item = items.get(result.item_code)
        section_rank = list(SECTIONS_ZH).index(item.section) if item and item.section in SECTIONS_ZH else 99
        return (section_rank, item.ordinal if item else 10**6, result.item_code)

    sections: dict[str, Section] = {}
    for result in sorted(results, key=order):
        item = items.get(result.item_code)
        key = item.section if item else "other"
        section = sections.setdefault(key, Section(key, SECTIONS_ZH.get(key, "其他 / other"), []))
        section.items.append(
            ItemView(
                result.item_code, item, result, photos.get(result.id, []), by_item.get(result.item_code, [])
            )
        )
    answered = {r.item_code for r in results}
    labelled: list[tuple[str, list[PhotoView]]] = [
        *((f"{view.code} 照片", view.photos) for section in sections.values() for view in section.items),
        *((f"隐患 {n} 照片", view.photos) for n, view in enumerate(hazard_views, 1)),
        ("现场照片", photos.get(inspection.id, [])),
    ]
    labels = {view.photo.id: f"{name} {n}" for name, group in labelled for n, view in enumerate(group, 1)}
    evidence = inspection_evidence(inspection)
    answers = {r.item_code: r.result.value for r in results}
    evidence = replace(
        evidence, flags=evidence.flags + hazard_answer_flags(answers, [h.item_code for h in hazards])
    )
    if inspection.sealed_record is not None:
        evidence = replace(
            evidence, flags=evidence.flags + _seal_flags(inspection.sealed_record, results, hazards, photos)
        )
    return ReviewData(
        inspection=inspection, evidence=evidence, sections=list(sections.values()),
        hazards=hazard_views, inspection_photos=photos.get(inspection.id, []),
        unanswered=sum(1 for code in items if code not in answered),
        photos=[view for _name, group in labelled for view in group], labels=labels,
    )  # fmt: skip


# --- the list ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionFilters:
    """What the list may be narrowed to (None: no filter)."""

    status: InspectionStatus | None = None
    kind: InspectionKind | None = None
    enterprise: str | None = None
    #: "verified", "failed" or "missing" (a submitted record without a seal).
    seal: str | None = None
    #: Only inspections the review flags (存疑: place, seal or team), or only those it does not.
    doubtful: bool | None = None


SEAL_FILTERS = {"verified": "签名已验证", "failed": "签名验证失败", "missing": "未封存"}


@dataclass(frozen=True)
class InspectionPage:
    """One page of the list, newest first."""

    rows: list[Inspection]
    total: int
    page: int
    pages: int
    #: The flags of each row's inspection as a whole (its place, seal and team; photos are weighed on its page).
    flags: dict[uuid.UUID, tuple[Flag, ...]] = field(default_factory=dict)


def inspection_tallies(session: DbSession) -> Any:
    """Counts each enterprise's inspections not deleted by ``(status, kind)`` (an
    oversight.contributions.Counting): the review queue's count, kept per enterprise."""

    def count(ids: Any | None) -> dict[Any, dict[Any, int]]:
        query = (
            sa.select(Inspection.enterprise_id, Inspection.status, Inspection.kind, sa.func.count())
            .where(Inspection.deleted_at.is_(None))
            .group_by(Inspection.enterprise_id, Inspection.status, Inspection.kind)
        )
        if ids is not None:
            query = query.where(Inspection.enterprise_id.in_(ids))
        tallies: dict[Any, dict[Any, int]] = {}
        for enterprise_id, status, kind, n in session.execute(query):
            tallies.setdefault(enterprise_id, {})[
                InspectionStatus(status).value, InspectionKind(kind).value
            ] = n
        return tallies

    return count


def _kept_total(
    session: DbSession, user: User, filters: InspectionFilters, counts: ContributionCache
) -> int | None:
    """How many inspections match ``filters``, from the kept counts per enterprise when only status and kind
    narrow the list (None: count the list itself)."""
    if filters.enterprise or filters.seal or filters.doubtful is not None or user.role == Role.enterprise:
        return None
    stamp = change_stamp(session)
    tally = scope_tally(
        session, user, stamp, ("inspections by status and kind",), inspection_tallies(session), counts
    )
    total = 0
    for key, n in tally.items():
        status, kind = cast(tuple[str, str], key)
        if (filters.status is None or status == filters.status.value) and (
            filters.kind is None or kind == filters.kind.value
        ):
            total += n
    return total


def list_inspections(
    session: DbSession,
    user: User,
    filters: InspectionFilters,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    counts: ContributionCache | None = None,
) -> InspectionPage:
    """Inspections in ``user``'s scope matching ``filters``, newest first, one page at a time; with ``counts``,
    the total comes from the inspections kept counted per enterprise (oversight.contributions)."""
    query = visible_inspections(session, user).join(Enterprise, Enterprise.id == Inspection.enterprise_id)
    if filters.status is not None:
        query = query.where(Inspection.status == filters.status)
    if filters.kind is not None:
        query = query.where(Inspection.kind == filters.kind)
    if filters.enterprise:
        query = query.where(Enterprise.name.contains(filters.enterprise.strip(), autoescape=True))
    if filters.seal == "verified":
        query = query.where(Inspection.seal_verified.is_(True))
    elif filters.seal == "failed":
        query = query.where(Inspection.seal_verified.is_(False))
    elif filters.seal == "missing":
        query = query.where(Inspection.status != InspectionStatus.draft, Inspection.sealed_record.is_(None))
    if filters.doubtful is not None:
        doubtful = [i for i, flags in _inspection_flags(session, query).items() if flags]
        query = query.where(
            Inspection.id.in_(doubtful) if filters.doubtful else Inspection.id.not_in(doubtful)
        )
    total = _kept_total(session, user, filters, counts) if counts is not None else None
    if total is None:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    newest = sa.func.coalesce(Inspection.finished_at, Inspection.started_at, Inspection.received_at)
    rows = session.scalars(
        query.options(contains_eager(Inspection.enterprise), selectinload(Inspection.participants))
        .order_by(newest.desc(), Inspection.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    flags = _inspection_flags(session, query.where(Inspection.id.in_([r.id for r in rows])))
    return InspectionPage(list(rows), total, page, pages, flags)


def _inspection_flags(session: DbSession, query: Any) -> dict[uuid.UUID, tuple[Flag, ...]]:
    """The inspection-level flags (assess_inspection: place, seal, team) of every inspection ``query`` selects,
    from one column-only query: a county's list is filtered by them without loading its records."""
    inspectors = (
        sa.select(sa.func.count())
        .where(
            InspectionParticipant.inspection_id == Inspection.id, InspectionParticipant.role == "inspector"
        )
        .scalar_subquery()
    )
    ids = query.with_only_columns(Inspection.id).order_by(None)
    rows = session.execute(
        sa.select(
            Inspection.id, Inspection.kind, Inspection.status, Inspection.finished_at, Inspection.start_lat,
            Inspection.start_lon, Inspection.end_lat, Inspection.end_lon, Inspection.sealed_record.is_not(None),
            Inspection.seal_verified, Inspection.seal_problem, Enterprise.lat, Enterprise.lon, inspectors,
        )
        .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .where(Inspection.id.in_(ids))
    ).all()  # fmt: skip
    out: dict[uuid.UUID, tuple[Flag, ...]] = {}
    for row in rows:
        if row.kind == InspectionKind.self_check:
            out[row.id] = ()
            continue
        facts = InspectionFacts(
            submitted=row.status != InspectionStatus.draft, finished=row.finished_at is not None,
            start_lat=row.start_lat, start_lon=row.start_lon, end_lat=row.end_lat, end_lon=row.end_lon,
            has_seal=bool(row[8]), seal_verified=row.seal_verified, seal_problem=row.seal_problem,
            inspectors=int(row[13] or 0),
        )  # fmt: skip
        out[row.id] = assess_inspection(facts, row.lat, row.lon).flags
    return out


# --- photo bytes -------------------------------------------------------------------------------------------


def visible_photo(session: DbSession, user: User, photo_id: uuid.UUID) -> tuple[Photo, Blob | None] | None:
    """A photo the user may see through what it is evidence for, with its blob; None if not (or missing)."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None:
        return None
    inspection_id: Any = None
    hazard_id: Any = None
    if photo.entity_type == "inspection":
        inspection_id = photo.entity_id
    elif photo.entity_type == "item_result":
        inspection_id = session.scalar(
            sa.select(ItemResult.inspection_id).where(ItemResult.id == photo.entity_id)
        )
    elif photo.entity_type == "hazard":
        hazard_id = photo.entity_id
    elif photo.entity_type == "hazard_event":
        hazard_id = session.scalar(sa.select(HazardEvent.hazard_id).where(HazardEvent.id == photo.entity_id))
    if inspection_id is not None:
        query: sa.Select[Any] = visible_inspections(session, user).where(Inspection.id == inspection_id)
    elif hazard_id is not None:
        query = visible_hazards(session, user).where(Hazard.id == hazard_id)
    else:
        return None
    if session.scalar(query.with_only_columns(sa.literal(True)).limit(1)) is None:
        return None
    return photo, session.get(Blob, photo.sha256)
