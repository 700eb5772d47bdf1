"""文书内容 / What the enforcement documents of one submitted inspection say, gathered from the database.

Everything a PDF shows is read here into plain dataclasses (images as bytes), so that ``pdf`` only lays out.
The numbers, the verification links and the order's legal wording are decided here too.

Document number (文书编号): ``<简称>应急<检记|责改>〔<年>〕<编号>号``, e.g. ``兴应急检记〔2026〕3F9A0C1B号``.
- 简称: the first character of the issuing authority's place (兴县应急管理局 → 兴); none for a bare 应急管理局.
- 年: the year the inspection started, China time.
- 编号: the first 8 hex digits of the sealed record's SHA-256, upper case (of the inspection id when the record
  was never sealed). It is derived, not counted: a stored counter would need a migration, and counting the
  authority's earlier inspections changes whenever a tablet syncs an older inspection late, so the same paper
  would get another number on a second print. The hash prefix never changes, is the same on the tablet's
  offline print (which computes it the same way), and ties the number to the record printed below it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionStatus
from server.media.store import thumbnail_of
from server.models import CatalogueItem, Inspection, Region, User
from server.services import DbSession
from server.services.review import SECTIONS_ZH, PhotoView, ReviewData, load_review
from sync.blobs import BlobStore
from sync.problems import Problem

#: A signature or photo larger than this is not an image the tablet made: it is left out of the document.
MAX_IMAGE_BYTES = 8 * 1024 * 1024


class DocKind(StrEnum):
    """Which document: 现场检查记录 (always) or 责令限期整改指令书 (only when hazards were found)."""

    record = "record"
    order = "order"

    @property
    def name_zh(self) -> str:
        """The document's name as printed."""
        return {"record": "现场检查记录", "order": "责令限期整改指令书"}[self.value]

    @property
    def code(self) -> str:
        """The document's code in its number (检记, 责改)."""
        return {"record": "检记", "order": "责改"}[self.value]


#: How each answer reads on paper (the checklist's own words: 符合 / 不符合 / 不适用).
RESULT_ZH = {value: value.label_zh for value in ItemResultValue}
ROLE_ZH = {"inspector": "执法人员", "expert": "专家", "enterprise_rep": "被检查单位现场负责人"}


def authority_prefix(authority: str) -> str:
    """The number's prefix: 兴县应急管理局 → 兴应急, 吕梁市应急管理局 → 吕应急, 应急管理局 → 应急."""
    place = authority.split("应急")[0].strip()
    return f"{place[:1]}应急"


def document_number(kind: DocKind, authority: str, year: int, serial: str) -> str:
    """The document's number, e.g. 兴应急检记〔2026〕3F9A0C1B号."""
    return f"{authority_prefix(authority)}{kind.code}〔{year}〕{serial}号"


def verify_path(kind: DocKind, inspection_id: uuid.UUID | str, sha256: str) -> str:
    """The public path that checks a printed document against the stored record (what its QR code opens)."""
    return f"/d/{kind.value}/{inspection_id}/{sha256}"


def zh_date(value: date | None) -> str:
    """A date as documents write it: 2026年5月2日."""
    return f"{value.year}年{value.month}月{value.day}日" if value else "____年__月__日"


def zh_time(value: datetime | None) -> str:
    """A moment on the bureau's clock (server.clock): 2026年5月2日 08:40."""
    if value is None:
        return "—"
    local = value.astimezone(clock.zone())
    return f"{zh_date(local.date())} {local:%H:%M}"


@dataclass(frozen=True)
class Officer:
    """An inspector, with the badge number of the law-enforcement certificate."""

    name: str
    badge_no: str | None


@dataclass(frozen=True)
class SignatureImage:
    """A hand signature captured on the tablet: who signed, when (China time) and the PNG (None if absent)."""

    role: str
    name: str
    at: str
    image: bytes | None

    @property
    def role_zh(self) -> str:
        """The signer's role as printed."""
        return ROLE_ZH.get(self.role, self.role)


@dataclass(frozen=True)
class CheckRow:
    """One answered checklist item."""

    code: str
    text: str
    result: str
    note: str
    non_compliant: bool


@dataclass(frozen=True)
class HazardRow:
    """One hazard found, with the deadline the tablet sealed and one photo (JPEG thumbnail) if the server has it."""

    number: int
    item_code: str
    description: str
    place: str
    level: str
    major: bool
    deadline: date | None
    stop_production: bool
    photo: bytes | None


@dataclass(frozen=True)
class InspectionDocuments:
    """What both documents of one submitted inspection say."""

    inspection_id: uuid.UUID
    authority: str
    year: int
    serial: str
    enterprise_name: str
    credit_code: str
    address: str
    main_person: str
    main_person_phone: str
    kind_zh: str
    started_at: datetime | None
    finished_at: datetime | None
    inspectors: list[Officer]
    experts: list[str]
    representatives: list[str]
    checks: list[CheckRow]
    hazards: list[HazardRow]
    summary_note: str
    signatures: list[SignatureImage]
    sealed_sha256: str | None
    seal_verified: bool | None
    base_url: str
    #: Where the order may be challenged: the authority's people's government and the local court.
    review_body: str
    court: str
    unanswered: int = 0
    #: Where what the server holds parts from what the device sealed (or why nothing sealed could be printed):
    #: printed prominently on the first page of every document.
    warnings: tuple[str, ...] = ()

    @property
    def kinds(self) -> list[DocKind]:
        """The documents this inspection has: the record, and the order when hazards were found."""
        return [DocKind.record, DocKind.order] if self.hazards else [DocKind.record]

    def number(self, kind: DocKind) -> str:
        """The document's number."""
        return document_number(kind, self.authority, self.year, self.serial)

    def verify_url(self, kind: DocKind) -> str | None:
        """The full verification address printed and encoded in the QR code; None when nothing was sealed."""
        if not self.sealed_sha256:
            return None
        return self.base_url + verify_path(kind, self.inspection_id, self.sealed_sha256)

    @property
    def issued_on(self) -> date | None:
        """The date the documents were made out on site: the day the inspection finished (China time)."""
        moment = self.finished_at or self.started_at
        return clock.local_day(moment, clock.zone()) if moment else None

    @property
    def place(self) -> str:
        """Where the inspection took place."""
        return f"{self.enterprise_name}生产经营场所" + (f"（{self.address}）" if self.address else "")


def order_paragraphs(docs: InspectionDocuments) -> tuple[str, list[str]]:
    """The order's wording around its list of problems: the opening line, and the paragraphs after the list.

    Reconstructed from the 责令限期整改指令书 form of the 安全生产执法文书 models (原国家安全监管总局 2016 式样,
    as used by 应急管理部门), with the legal basis renumbered for the Work Safety Law as amended in 2021 (the old
    第六十二条 is now 第六十五条: 第一款第二项 orders violations corrected within a time limit, 第三项 orders hazards
    eliminated). The review and litigation periods (60 days, 6 months) are those of the Administrative
    Reconsideration Law and the Administrative Procedure Law. Blanks the system cannot fill stay as lines.
    """
    deadlines = sorted({h.deadline for h in docs.hazards if h.deadline})
    if not deadlines:
        when = "责令你单位于____年__月__日前整改完毕"
    elif len(deadlines) == 1:
        when = f"责令你单位于{zh_date(deadlines[0])}前整改完毕"
    else:
        when = f"责令你单位按上列各项期限整改，并于{zh_date(deadlines[-1])}前全部整改完毕"
    opening = "经查，你单位存在下列问题："
    paragraphs = [
        "以上问题违反了安全生产法律、法规、规章和国家标准、行业标准的有关规定。依据《中华人民共和国安全生产法》"
        f"第六十五条第一款第（二）项、第（三）项的规定，现{when}，达到有关法律法规规章和标准规定的要求。"
        "由此造成事故的，依法追究有关人员的责任。",
        "整改期间，你单位应当采取措施，确保安全生产。对安全生产违法行为，将依法予以行政处罚。",
    ]
    if any(h.major and h.stop_production for h in docs.hazards):
        paragraphs.append(
            "对上列重大事故隐患，在排除前或者排除过程中无法保证安全的，你单位应当从危险区域内撤出作业人员，"
            "暂时停产停业或者停止使用相关设施、设备；重大事故隐患排除后，经审查同意，方可恢复生产经营和使用。"
        )
    paragraphs.append(
        f"如果不服本指令，可以依法在60日内向{docs.review_body}申请行政复议，或者在6个月内依法向{docs.court}"
        "提起行政诉讼，但本指令不停止执行，法律另有规定的除外。"
    )
    return opening, paragraphs


# --- gathering -------------------------------------------------------------------------------------------


def _read_blob(store: BlobStore | None, sha256: Any) -> bytes | None:
    """A stored blob's bytes, or None when absent, oversized or not a SHA-256 at all."""
    if store is None or not isinstance(sha256, str):
        return None
    try:
        if not store.has(sha256):
            return None
        with store.open(sha256) as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except (Problem, OSError):
        return None
    return data if len(data) <= MAX_IMAGE_BYTES else None


def _thumbnail(store: BlobStore | None, view: PhotoView) -> bytes | None:
    """The photo's upright JPEG thumbnail (made again if lost: it is derived data), or None."""
    if store is None or not view.viewable:
        return None
    sha = view.photo.sha256
    try:
        if not store.has(sha):
            return None
        return thumbnail_of(store, sha)
    except (Problem, OSError):
        return None


@dataclass(frozen=True)
class SealedAnswer:
    """One answer as the device sealed it."""

    code: str
    result: str
    note: str


@dataclass(frozen=True)
class SealedHazard:
    """One hazard as the device sealed it (its deadline as sealed: a later extension does not change the order)."""

    id: str
    item_code: str
    level: str
    description: str
    deadline: date | None


@dataclass(frozen=True)
class SealedContent:
    """What the device sealed: the answers and the hazards found, as the printed documents state them."""

    answers: list[SealedAnswer]
    hazards: list[SealedHazard]


def sealed_content(record_text: str | None) -> SealedContent | None:
    """The sealed record's answers and hazards, or None when there is none or it cannot be read."""
    try:
        record = json.loads(record_text or "null")
        if not isinstance(record, dict):
            return None
        answers = [
            SealedAnswer(str(code), str(result), str(note or "").strip())
            for code, result, note, *_ in record.get("results", [])
        ]
        hazards = [
            SealedHazard(
                id=str(row["id"]),
                item_code=str(row.get("item_code") or ""),
                level=str(row.get("level") or ""),
                description=str(row.get("description") or "").strip(),
                deadline=date.fromisoformat(str(row["deadline"])[:10]) if row.get("deadline") else None,
            )
            for row in record.get("hazards", [])
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return SealedContent(answers, hazards)


#: The review's flags that say the server's rows part from the seal, or that the seal does not hold.
SEAL_FLAGS = frozenset({
    "seal_failed", "seal_missing", "seal_unreadable", "sealed_answers_differ", "sealed_hazards_differ",
    "photo_not_sealed",
})  # fmt: skip
WARNING_LEAD = "警示：本次检查的存档记录与执法终端现场封存的记录不一致（或封存未通过验证）。本文书按封存记录打印，存档中的改动不予采信："
UNSEALED_LEAD = "警示：本次检查没有可读的执法终端封存记录，本文书内容取自服务器存档，未经设备签名证实："


def _signatures(inspection: Inspection, store: BlobStore | None) -> list[SignatureImage]:
    """The signatures held on the inspection, inspectors first, with their PNGs from the blob store."""
    rows = [s for s in inspection.signatures or [] if isinstance(s, dict)]
    rows.sort(key=lambda s: 0 if s.get("role") == "inspector" else 1)
    signatures = []
    for row in rows:
        at = row.get("at")
        try:
            when = zh_time(datetime.fromisoformat(str(at).replace("Z", "+00:00"))) if at else ""
        except ValueError:
            when = ""
        # "sha256" is what the tablet writes; the model's comment once called it "photo_sha256".
        sha = row.get("sha256") or row.get("photo_sha256")
        signatures.append(
            SignatureImage(
                str(row.get("role") or ""), str(row.get("name") or ""), when, _read_blob(store, sha)
            )
        )
    return signatures


def _authority_region(region: Region | None) -> Region | None:
    """The nearest region at or above ``region`` that names its bureau."""
    return next((r for r in region.ancestors_and_self() if r.authority_name), None) if region else None


@dataclass(frozen=True)
class Header:
    """What names a document: the issuing authority (and its region's name), the year and the serial."""

    authority: str
    place: str
    year: int
    serial: str

    def number(self, kind: DocKind) -> str:
        """The document's number."""
        return document_number(kind, self.authority, self.year, self.serial)


def document_header(inspection: Inspection, default_authority: str) -> Header:
    """The authority of the enterprise's region (the nearest that names one), the year the inspection started
    (China time) and the serial: the sealed hash's first 8 hex digits (the id's when nothing was sealed)."""
    authority_region = _authority_region(inspection.enterprise.region)
    authority = (authority_region.authority_name if authority_region else None) or default_authority
    started = inspection.started_at or inspection.received_at
    serial = (inspection.sealed_sha256 or inspection.id.hex)[:8].upper()
    place = authority_region.name if authority_region else ""
    return Header(authority, place, clock.local_day(started, clock.zone()).year, serial)


def _result_zh(result: str) -> str:
    """A sealed answer's Chinese label (the raw value when it is none the checklist knows)."""
    try:
        return ItemResultValue(result).label_zh
    except ValueError:
        return result


def _level(level: str) -> HazardLevel:
    """A sealed hazard's level (a level the server does not know is printed as the stricter, major)."""
    try:
        return HazardLevel(level)
    except ValueError:
        return HazardLevel.major


def build_documents(
    data: ReviewData,
    store: BlobStore | None,
    *,
    base_url: str,
    default_authority: str,
    photos: bool = True,
    item_texts: Mapping[str, str] | None = None,
    order: Mapping[str, int] | None = None,
) -> InspectionDocuments:
    """What the documents of the reviewed inspection say (the caller checked that it is not a draft).

    The answers and hazards printed are those the device SEALED (a document is the copy of that record); where
    the server's rows part from it, or the seal does not hold, the documents carry ``warnings`` on their first
    page. Only a record never sealed is printed from the server's rows, and says so. ``item_texts`` and ``order``
    give the catalogue's text and place of each item code. ``photos=False`` leaves the hazard photos out (only
    the order prints them, and a first print makes their thumbnails from the full-size photos).
    """
    item_texts = item_texts or {}
    order = order or {}
    inspection = data.inspection
    enterprise = inspection.enterprise
    header = document_header(inspection, default_authority)
    sealed = sealed_content(inspection.sealed_record)
    stored_hazards = {str(view.hazard.id): view for view in data.hazards}
    if sealed is not None:
        texts = dict(item_texts)
        texts.update({view.code: view.item.text for sec in data.sections for view in sec.items if view.item})
        checks = [
            CheckRow(
                code=answer.code,
                text=texts.get(answer.code, "（目录中无此项）"),
                result=_result_zh(answer.result),
                note=answer.note,
                non_compliant=answer.result == ItemResultValue.non_compliant.value,
            )
            for answer in sorted(sealed.answers, key=lambda a: (order.get(a.code, 10**6), a.code))
        ]
        found = [
            (h.item_code, h.description, stored_hazards.get(h.id), _level(h.level), h.deadline)
            for h in sealed.hazards
        ]
    else:
        checks = [
            CheckRow(
                code=view.code,
                text=view.item.text if view.item else "（目录中无此项）",
                result=RESULT_ZH.get(view.result.result, str(view.result.result)),
                note=(view.result.note or "").strip(),
                non_compliant=view.result.result == ItemResultValue.non_compliant,
            )
            for section in data.sections
            for view in section.items
        ]
        found = [
            (v.hazard.item_code or "", v.hazard.description.strip(), v, v.hazard.level, v.hazard.deadline)
            for v in data.hazards
        ]
    hazards = []
    for number, (item_code, description, view, level, deadline) in enumerate(found, 1):
        photo = (
            next((thumb for v in view.photos if (thumb := _thumbnail(store, v)) is not None), None)
            if photos and view is not None
            else None
        )
        row = HazardRow(
            number=number, item_code=item_code, description=description,
            place=((view.hazard.place or "").strip() if view is not None else ""), level=level.label_zh,
            major=level == HazardLevel.major, deadline=deadline,
            stop_production=bool(view.hazard.stop_production) if view is not None else False, photo=photo,
        )  # fmt: skip
        hazards.append(row)
    flags = [flag for flag in data.evidence.flags if flag.code in SEAL_FLAGS]
    warnings: tuple[str, ...] = ()
    if sealed is None:
        warnings = (UNSEALED_LEAD, *(flag.zh for flag in flags))
    elif flags or inspection.seal_verified is not True:
        warnings = (WARNING_LEAD, *(flag.zh for flag in flags))
    place = header.place
    return InspectionDocuments(
        inspection_id=inspection.id, authority=header.authority, year=header.year, serial=header.serial,
        enterprise_name=enterprise.name, credit_code=enterprise.credit_code, address=enterprise.address or "",
        main_person=enterprise.main_person or "", main_person_phone=enterprise.main_person_phone or "",
        kind_zh=inspection.kind.label_zh, started_at=inspection.started_at, finished_at=inspection.finished_at,
        inspectors=[Officer(p.name, p.badge_no) for p in data.inspectors],
        experts=[p.name for p in data.experts], representatives=[p.name for p in data.representatives],
        checks=checks, hazards=hazards, summary_note=(inspection.summary_note or "").strip(),
        signatures=_signatures(inspection, store), sealed_sha256=inspection.sealed_sha256,
        seal_verified=inspection.seal_verified, base_url=base_url.rstrip("/"),
        review_body=f"{place}人民政府" if place else "________人民政府",
        court=f"{place}人民法院" if place else "________人民法院", unanswered=data.unanswered, warnings=warnings,
    )  # fmt: skip


def load_documents(
    session: DbSession,
    user: User,
    inspection_id: uuid.UUID,
    store: BlobStore | None,
    *,
    base_url: str,
    default_authority: str,
    photos: bool = True,
) -> InspectionDocuments | None:
    """The documents of a submitted inspection in ``user``'s scope; None if missing, out of scope or a draft."""
    data = load_review(session, user, inspection_id, store)
    if data is None or data.inspection.status == InspectionStatus.draft:
        return None
    items = session.execute(
        sa.select(CatalogueItem.code, CatalogueItem.text, CatalogueItem.section, CatalogueItem.ordinal).where(
            CatalogueItem.catalogue_id == data.inspection.catalogue_id
        )
    ).all()
    sections = list(SECTIONS_ZH)
    ranked = sorted(
        items, key=lambda i: (sections.index(i.section) if i.section in sections else 99, i.ordinal)
    )
    return build_documents(
        data, store, base_url=base_url, default_authority=default_authority, photos=photos,
        item_texts={i.code: i.text for i in items}, order={i.code: n for n, i in enumerate(ranked)},
    )  # fmt: skip


def strings_of(docs: InspectionDocuments, extra: Sequence[str] = ()) -> set[str]:
    """Every character the documents may print (for the font made for them)."""
    texts: list[str] = [
        docs.authority, docs.enterprise_name, docs.credit_code, docs.address, docs.main_person,
        docs.main_person_phone, docs.kind_zh, docs.summary_note, docs.review_body, docs.court, docs.place,
        *(docs.number(kind) for kind in DocKind), *(o.name + (o.badge_no or "") for o in docs.inspectors),
        *docs.experts, *docs.representatives, *(s.name + s.at + s.role_zh for s in docs.signatures),
        *(c.code + c.text + c.result + c.note for c in docs.checks),
        *(h.item_code + h.description + h.place + h.level + zh_date(h.deadline) for h in docs.hazards),
        *docs.warnings,
        zh_time(docs.started_at), zh_time(docs.finished_at), zh_date(docs.issued_on), *extra,
    ]  # fmt: skip
    opening, paragraphs = order_paragraphs(docs)
    texts += [opening, *paragraphs]
    return {char for text in texts for char in text}
