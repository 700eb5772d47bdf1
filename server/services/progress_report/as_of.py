"""What counts as of a moment: the inspections a supervisor had approved, and each hazard's state, replayed from
the event log as it stood at the cut-off."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from server.domain import hazards as rules
from server.domain.clearance import (
    LinkedHazard,
)
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, ReviewOutcome
from server.models import (
    Hazard,
    HazardEvent,
    Inspection,
    ReviewDecision,
)
from server.services import DbSession
from server.services.oversight import (
    Window,
    evidence_holds,
)
from server.services.progress_report.units import alive, key

# --- what counts as of a moment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A regulator's inspection as the report needs it (ids as key() reads them; the catalogue's as a UUID)."""

    id: Any
    enterprise_id: Any
    kind: str
    finished_at: datetime
    corrects_id: Any
    catalogue_id: uuid.UUID
    #: A supervisor had approved it by the report's cut-off (only then may it decide 清零).
    approved: bool = False


def reviewed_inspections(enterprise_ids: Any, known: datetime, window: Window | None = None) -> Any:
    """The regulators' inspections (any kind but 'self') submitted before ``known`` with a device seal that verified
    (server.domain.counting), not returned by a review decided before it, not deleted then and, with ``window``,
    finished within the campaign's days; which of them count at a moment is counting_at's business. The last column tells
    whether a supervisor had approved it before ``known``."""
    decided = sa.and_(ReviewDecision.inspection_id == Inspection.id, ReviewDecision.decided_at < known)
    returned = sa.exists().where(decided, ReviewDecision.outcome == ReviewOutcome.return_)
    approved = sa.exists().where(decided, ReviewDecision.outcome == ReviewOutcome.approve)
    query = sa.select(
        key(Inspection.id), key(Inspection.enterprise_id), key(Inspection.kind), Inspection.finished_at,
        key(Inspection.corrects_id), key(Inspection.catalogue_id), approved.label("approved"),
    ).where(
        Inspection.enterprise_id.in_(enterprise_ids), Inspection.kind != InspectionKind.self_check,
        Inspection.submitted_received_at < known, Inspection.finished_at.is_not(None), alive(Inspection, known),
        evidence_holds(), ~returned,
    )  # fmt: skip
    return query if window is None else query.where(window.inside(Inspection.finished_at))


def load_visits(
    session: DbSession, enterprise_ids: Any, known: datetime, window: Window | None = None
) -> list[Visit]:
    """reviewed_inspections as rows (a county has some 10,000)."""
    catalogues: dict[Any, uuid.UUID] = {}
    visits = []
    for id_, enterprise_id, kind, finished_at, corrects_id, catalogue, approved in session.execute(
        reviewed_inspections(enterprise_ids, known, window)
    ):
        if catalogue not in catalogues:
            catalogues[catalogue] = uuid.UUID(str(catalogue))
        visits.append(
            Visit(id_, enterprise_id, kind, finished_at, corrects_id, catalogues[catalogue], bool(approved))
        )
    return visits


def counting_at(visits: Iterable[Visit], valid: datetime) -> list[Visit]:
    """The visits that count at ``valid``: finished before it, and not superseded by a correction that counts."""
    finished = [v for v in visits if v.finished_at < valid]
    superseded = {v.corrects_id for v in finished if v.corrects_id is not None}
    return [v for v in finished if v.id not in superseded]


def latest_by_enterprise(visits: Iterable[Visit]) -> dict[Any, Visit]:
    """Each enterprise's latest visit (by finish time, then id, as server.domain.clearance decides)."""
    latest: dict[Any, Visit] = {}
    for visit in visits:
        best = latest.get(visit.enterprise_id)
        if best is None or (visit.finished_at, str(visit.id)) > (best.finished_at, str(best.id)):
            latest[visit.enterprise_id] = visit
    return latest


@dataclass(frozen=True)
class HazardRecord:
    """What the report needs of a hazard (its descriptive fields are read only for the list of major hazards)."""

    id: Any
    enterprise_id: Any
    level: HazardLevel
    source: str
    item_code: str | None
    funds_yuan: Decimal | None


@dataclass(frozen=True)
class HazardAsOf:
    """A hazard found by a moment, with its status then (replayed from its events up to the moment)."""

    hazard: HazardRecord
    status: rules.HazardStatus

    @property
    def state(self) -> HazardState:
        """The state at the moment."""
        return self.status.state

    def overdue(self, day: date) -> bool:
        """Not yet reported fixed and past its deadline on ``day`` (server.domain.hazards.HazardStatus.is_overdue)."""
        return self.status.is_overdue(day)


def load_hazards(
    session: DbSession, enterprise_ids: Any, known: datetime, window: Window | None = None
) -> dict[Any, HazardRecord]:
    """The scope's hazards that may count at ``known``: not deleted by then, found within ``window`` (the campaign's
    days) and, when recorded in an inspection, whose inspection was submitted by then (whether they had been
    found is their events' business)."""
    rows = session.execute(
        sa.select(
            key(Hazard.id), key(Hazard.enterprise_id), key(Hazard.level), key(Hazard.source), Hazard.item_code,
            Hazard.funds_yuan,
        )
        .outerjoin(Inspection, Inspection.id == Hazard.inspection_id)
        .where(
            Hazard.enterprise_id.in_(enterprise_ids), Hazard.found_at < known, alive(Hazard, known),
            sa.or_(Hazard.inspection_id.is_(None), Inspection.submitted_received_at < known),
            sa.true() if window is None else window.inside(Hazard.found_at),
        )
    )  # fmt: skip
    levels = {level.value: level for level in HazardLevel}
    return {
        id_: HazardRecord(id_, enterprise_id, levels[level], source, item_code, funds)
        for id_, enterprise_id, level, source, item_code, funds in rows
    }


def statuses_as_of(
    session: DbSession,
    hazards: dict[Any, HazardRecord],
    enterprise_ids: Any,
    moments: Iterable[datetime],
    known: datetime,
) -> dict[datetime, dict[Any, HazardAsOf]]:
    """For each moment (before ``known``), the hazards found by then with their status: each hazard's events on
    record before ``known`` replayed once, in their order, through server.domain.hazards.apply_event, the status
    taken as each moment is passed."""
    points = sorted(set(moments))
    out: dict[datetime, dict[Any, HazardAsOf]] = {moment: {} for moment in points}
    if not points:
        return out
    kind = key(HazardEvent.kind)
    # Only these kinds need their comment (the reason the state machine asks for).
    reason = sa.case(
        (
            kind.in_((HazardEventKind.rejected.value, HazardEventKind.deadline_extended.value)),
            HazardEvent.comment,
        ),
        else_=sa.null(),
    )
    rows = session.execute(
        sa.select(key(HazardEvent.hazard_id), kind, HazardEvent.at, HazardEvent.deadline, reason)
        .join(Hazard, Hazard.id == HazardEvent.hazard_id)
        .where(
            Hazard.enterprise_id.in_(enterprise_ids),
            HazardEvent.at < points[-1],
            HazardEvent.received_at < known,
        )
        .order_by(HazardEvent.hazard_id, HazardEvent.at, HazardEvent.received_at, HazardEvent.id)
    )
    kinds = {k.value: k for k in HazardEventKind}

    apply_event, event_of, illegal = rules.apply_event, rules.HazardEvent, rules.IllegalTransition
    last = len(points)
    tables = [out[point] for point in points]

    def replayed(hazard: HazardRecord, events: Iterable[Any]) -> None:
        status: rules.HazardStatus | None = None
        # One HazardAsOf per status reached: the moments a status spans share it.
        held: HazardAsOf | None = None
        index = 0
        level = hazard.level
        for _, kind_value, at, deadline, why in events:
            while index < last and at >= points[index]:
                if status is not None:
                    held = held or HazardAsOf(hazard, status)
                    tables[index][hazard.id] = held
                index += 1
            try:
                status = apply_event(status, event_of(kinds[kind_value], at, deadline, why or ""), level)
            except illegal:
                break  # corrupt stored data: keep the status of the last good event
            held = None
        if status is not None and index < last:
            held = held or HazardAsOf(hazard, status)
            for table in tables[index:]:
                table[hazard.id] = held

    for hazard_id, events in groupby(rows, key=itemgetter(0)):
        hazard = hazards.get(hazard_id)
        if hazard is not None:
            replayed(hazard, events)
    return out


def linked(found: Iterable[HazardAsOf]) -> dict[Any, list[LinkedHazard]]:
    """The item-linked hazards of each enterprise with their states (what 清零 looks at)."""
    # Keyed by the state's identity (members are singletons): hashing an enum member runs Python code.
    shared: dict[tuple[str, int], LinkedHazard] = {}
    out: dict[Any, list[LinkedHazard]] = defaultdict(list)
    for h in found:
        hazard = h.hazard
        code = hazard.item_code
        if code is not None:
            state = h.status.state
            pair = (code, id(state))
            if (link := shared.get(pair)) is None:
                link = shared[pair] = LinkedHazard(code, state)
            out[hazard.enterprise_id].append(link)
    return out
