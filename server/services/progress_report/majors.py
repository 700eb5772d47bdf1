"""The itemised list of major hazards (the notice's second sheet), as of the cut-off."""

from __future__ import annotations

import uuid
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from server.domain.hazards import HazardEventKind, HazardLevel
from server.models import (
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
)
from server.services import DbSession
from server.services.progress_report.as_of import HazardAsOf
from server.services.progress_report.figures import MajorHazardRow
from server.services.progress_report.units import ReportScope, batches, key, uuids

# --- the itemised list of major hazards -------------------------------------------------------------------


#: What the list shows of a major hazard beyond its status: found_at, description, place, source, terms, treatment
#: plan, the enterprise's name, and the data of its latest 'listed' event by the cut-off (None: none).
MajorDetails = tuple[datetime, str, str | None, str, Any, str | None, str, dict[str, Any] | None]


def major_details(session: DbSession, hazard_ids: list[Any], before: datetime) -> dict[Any, MajorDetails]:
    """The details of the hazards ``hazard_ids`` (the scope's major ones) the list shows, with their listings."""
    listings = _listings(session, hazard_ids, before)
    out: dict[Any, MajorDetails] = {}
    for ids in batches(hazard_ids):
        for id_, found_at, description, place, source, terms, plan, enterprise in session.execute(
            sa.select(
                key(Hazard.id), Hazard.found_at, Hazard.description, Hazard.place, key(Hazard.source), Hazard.terms,
                Hazard.treatment_plan, Enterprise.name,
            )
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(Hazard.id.in_(uuids(ids)))
        ):  # fmt: skip
            out[id_] = (found_at, description, place, source, terms, plan, enterprise, listings.get(id_))
    return out


def major_hazards(
    scope: ReportScope,
    found: list[HazardAsOf],
    details: dict[Any, MajorDetails],
    enterprise_unit: dict[Any, int | None],
    zone: tzinfo,
    as_of: date,
) -> list[MajorHazardRow]:
    """Every major hazard found by the cut-off (``found``: the hazards with their status then; ``details``: what
    major_details read of them), with its state, deadline and listing as of the cut-off and whether it was overdue
    on ``as_of``, in the order they were found."""
    majors = sorted(
        ((details[h.hazard.id], h) for h in found if h.hazard.level == HazardLevel.major),
        key=lambda pair: (pair[0][0], str(pair[1].hazard.id)),
    )
    names = {unit.id: unit.name for unit in scope.units}
    rows: list[MajorHazardRow] = []
    for serial, ((found_at, description, place, source, terms, plan, enterprise, listing), h) in enumerate(
        majors, 1
    ):
        terms = terms or {}
        supervision = ""
        if listing is not None and h.status.ever_listed:
            level = str(listing.get("supervision_level") or "")
            number = f"（{listing['supervision_no']}）" if listing.get("supervision_no") else ""
            supervision = (
                f"{level}挂牌督办{number}" if h.status.listed else f"已摘牌（原{level}挂牌督办{number}）"
            )
        unit_id = enterprise_unit.get(h.hazard.enterprise_id)
        rows.append(
            MajorHazardRow(
                serial=serial, hazard_id=uuid.UUID(str(h.hazard.id)), unit=names.get(unit_id, "") if unit_id else "",
                enterprise=enterprise, description=description, place=place or "",
                source="企业自查" if source == HazardSource.self_ledger.value else "监管检查",
                found_on=found_at.astimezone(zone).date(),
                measures=str(terms.get("measures") or plan or ""),
                responsible_person=str(terms.get("responsible_person") or ""), deadline=h.status.deadline,
                state=h.state, overdue=h.overdue(as_of), supervision=supervision, funds_yuan=h.hazard.funds_yuan,
            )
        )  # fmt: skip
    return rows


def _listings(session: DbSession, hazard_ids: list[Any], before: datetime) -> dict[Any, dict[str, Any]]:
    """The data of each hazard's latest 'listed' event on record before the moment (level and number of 挂牌督办)."""
    out: dict[Any, dict[str, Any]] = {}
    for ids in batches(hazard_ids):
        events = session.execute(
            sa.select(key(HazardEvent.hazard_id), HazardEvent.data)
            .where(
                HazardEvent.hazard_id.in_(uuids(ids)),
                HazardEvent.kind == HazardEventKind.listed,
                HazardEvent.at < before,
                HazardEvent.received_at < before,
            )
            .order_by(HazardEvent.at, HazardEvent.received_at, HazardEvent.id)
        )
        out.update({hazard_id: dict(data or {}) for hazard_id, data in events})
    return out
