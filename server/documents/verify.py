"""文书核验 / Checking a printed document against the stored record: what its QR code's page decides.

A document prints the SHA-256 of the record the tablet sealed. It is genuine when the stored record still
hashes to the sealed value, that value is the one printed, and the device's signature over the record still
verifies against the answers held now (server.services.seal.check_seal, as at submission).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from server import clock
from server.documents.records import DocKind, document_header, sealed_content, zh_date, zh_time
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionStatus
from server.models import Device, Hazard, Inspection, ItemResult
from server.services import DbSession
from server.services.devices import key_in_force
from server.services.seal import check_seal

_RESULTS = frozenset(r.value for r in ItemResultValue)
_LEVELS = frozenset(level.value for level in HazardLevel)


@dataclass(frozen=True)
class Verdict:
    """Whether a document is genuine and why not; the document's facts only when its hash was the right one."""

    kind: DocKind
    valid: bool
    reason_zh: str | None = None
    reason_en: str | None = None
    #: Shown only to whoever holds the genuine hash (it is printed on the document: nothing new is revealed).
    number: str | None = None
    authority: str | None = None
    enterprise_name: str | None = None
    inspected_at: str | None = None
    hazards: int | None = None
    sealed_sha256: str | None = None
    checked_at: str | None = None
    #: What the document states, from the sealed record, for the reader to compare with the paper: the items
    #: found not compliant (code, result) and the hazards (description, level, deadline), as sealed.
    findings: tuple[tuple[str, str], ...] = ()
    hazard_rows: tuple[tuple[str, str, str], ...] = ()


def verify_document(
    session: DbSession, kind_name: str, inspection_id: uuid.UUID, sha256: str, *, default_authority: str
) -> Verdict | None:
    """The verdict on document ``kind_name`` of the inspection printed with ``sha256``; None when there is no
    such document (no such kind, no submitted inspection, or an order for an inspection without hazards)."""
    try:
        kind = DocKind(kind_name)
    except ValueError:
        return None
    inspection = session.get(Inspection, inspection_id)
    if inspection is None or inspection.deleted_at is not None or inspection.status == InspectionStatus.draft:
        return None
    hazards = session.scalar(
        sa.select(sa.func.count())
        .select_from(Hazard)
        .where(Hazard.inspection_id == inspection.id, Hazard.deleted_at.is_(None))
    )
    if kind is DocKind.order and not hazards:
        return None
    checked_at = zh_time(clock.now())
    if not inspection.sealed_sha256 or sha256.lower() != inspection.sealed_sha256:
        # Nothing about the inspection is shown to whoever holds a wrong hash.
        return Verdict(
            kind, False, "文书上的 SHA-256 与存档记录不符：文书可能被伪造或涂改，或不是该次检查的文书。",
            "The document's SHA-256 does not match the stored record: forged, altered, or not this inspection's.",
            checked_at=checked_at,
        )  # fmt: skip
    header = document_header(inspection, default_authority)

    content = sealed_content(inspection.sealed_record)
    findings = tuple(
        (a.code, ItemResultValue(a.result).label_zh if a.result in _RESULTS else a.result)
        for a in (content.answers if content else [])
        if a.result == ItemResultValue.non_compliant.value
    )
    hazard_rows = tuple(
        (h.description, HazardLevel(h.level).label_zh if h.level in _LEVELS else h.level, zh_date(h.deadline))
        for h in (content.hazards if content else [])
    )

    def verdict(valid: bool, zh: str | None = None, en: str | None = None) -> Verdict:
        return Verdict(
            kind, valid, zh, en, number=header.number(kind), authority=header.authority,
            enterprise_name=inspection.enterprise.name, hazards=len(hazard_rows) if content else int(hazards or 0),
            inspected_at=f"{zh_time(inspection.started_at)} 至 {zh_time(inspection.finished_at)}",
            sealed_sha256=inspection.sealed_sha256, checked_at=checked_at, findings=findings, hazard_rows=hazard_rows,
        )  # fmt: skip

    record = inspection.sealed_record
    if record is None:
        return verdict(False, "存档中没有该检查的封存记录。", "The stored record is missing.")
    if hashlib.sha256(record.encode("utf-8")).hexdigest() != inspection.sealed_sha256:
        return verdict(
            False, "存档的封存记录已被改动：其 SHA-256 与封存时的值不符。",
            "The stored record was altered: it no longer hashes to the sealed value.",
        )  # fmt: skip
    device = session.get(Device, inspection.device_id) if inspection.device_id else None
    # The key the device had when the server received the seal: a later re-registration does not unseal it.
    sealed_at = inspection.submitted_received_at or inspection.received_at
    jwk = key_in_force(session, device, sealed_at) if device is not None else None
    results = session.execute(
        sa.select(ItemResult.item_code, ItemResult.result).where(
            ItemResult.inspection_id == inspection.id, ItemResult.deleted_at.is_(None)
        )
    ).all()
    check = check_seal(
        record_text=record, sealed_sha256=inspection.sealed_sha256, signature=inspection.device_signature,
        jwk=jwk, inspection_id=str(inspection.id),
        results={code: str(result) for code, result in results},
    )  # fmt: skip
    if not check.verified:
        zh, _, en = (check.problem or "").partition(" / ")
        return verdict(False, f"设备封存验证未通过：{zh}", en or None)
    return verdict(True)
