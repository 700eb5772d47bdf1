"""What the hazard page and the enterprise page show, loaded in a handful of queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from server.domain import hazards as rules
from server.domain.applicability import ApplicabilityRule, why_not
from server.domain.clearance import ItemClearance
from server.domain.counting import InspectionStanding, Standing
from server.domain.hazards import OPEN_STATES, HazardEventKind
from server.models import (
    Catalogue,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    InspectionParticipant,
    Photo,
    User,
)
from server.services import DbSession, oversight
from server.services.hazards import SUPERVISOR_ACTIONS
from server.services.scope import visible_enterprises, visible_inspections

#: Events supervisors record on the web (see server.services.hazards.SUPERVISOR_ACTIONS).
SUPERVISOR_KINDS = frozenset(SUPERVISOR_ACTIONS.values())

#: How many of an enterprise's inspections and hazards its page lists (newest first); the ledger pages the rest.
ENTERPRISE_PAGE_ROWS = 100


def status_of(hazard: Hazard) -> rules.HazardStatus | None:
    """The hazard's status replayed from its events (None if the log cannot be replayed)."""
    events = [
        rules.HazardEvent(kind=e.kind, at=e.at, deadline=e.deadline, reason=e.comment or "")
        for e in sorted(hazard.events, key=lambda e: e.at)
    ]
    try:
        return rules.replay(events, hazard.level)
    except (rules.IllegalTransition, ValueError):
        return None


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a hazard's log, who made it and the photos attached to it."""

    event: HazardEvent
    actor: str | None
    photos: list[Photo]


@dataclass(frozen=True)
class HazardView:
    """Everything the hazard page shows besides the hazard itself."""

    status: rules.HazardStatus | None
    overdue: bool
    item: CatalogueItem | None
    five_terms: list[tuple[str, str]]
    timeline: list[TimelineEntry]
    before: list[Photo]
    after: list[Photo]
    allowed: frozenset[HazardEventKind]
    #: How the inspection that found the hazard stands for the figures (None: not found in an inspection).
    inspection_standing: InspectionStanding | None = None

    @property
    def supervisor_actions(self) -> frozenset[HazardEventKind]:
        """The allowed events a supervisor (rather than the enterprise or an inspector) records."""
        return self.allowed & SUPERVISOR_KINDS


def _catalogue_for(session: DbSession, inspection_id: uuid.UUID | None, today: date) -> Catalogue | None:
    catalogue_id = None
    if inspection_id is not None:
        catalogue_id = session.scalar(
            sa.select(Inspection.catalogue_id).where(Inspection.id == inspection_id)
        )
    if catalogue_id is None:
        catalogue_id = oversight.current_catalogue_id(session, today)
    return session.get(Catalogue, catalogue_id) if catalogue_id is not None else None


def _term_pair(term: Any) -> tuple[str, str]:
    """A 五定 term as (key, label), whether stored as a table or as a pair."""
    if isinstance(term, dict):
        return str(term["key"]), str(term["label"])
    key, label = term
    return str(key), str(label)


def hazard_view(session: DbSession, hazard: Hazard, today: date) -> HazardView:
    """The hazard's status, catalogue item and 五定 labels, timeline with actors and before/after photos."""
    status = status_of(hazard)
    catalogue = _catalogue_for(session, hazard.inspection_id, today)
    item = None
    if catalogue is not None and hazard.item_code:
        item = session.scalar(
            sa.select(CatalogueItem).where(
                CatalogueItem.catalogue_id == catalogue.id, CatalogueItem.code == hazard.item_code
            )
        )
    five_terms = [_term_pair(t) for t in (catalogue.five_terms if catalogue else [])]
    events = sorted(hazard.events, key=lambda e: (e.at, e.received_at))
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    actors = dict(session.execute(sa.select(User.id, User.display_name).where(User.id.in_(actor_ids))).all())
    photos = session.scalars(
        sa.select(Photo)
        .where(Photo.entity_id.in_([hazard.id, *(e.id for e in events)]), Photo.deleted_at.is_(None))
        .order_by(Photo.captured_at, Photo.id)
    ).all()
    by_entity: dict[uuid.UUID, list[Photo]] = {}
    for photo in photos:
        by_entity.setdefault(photo.entity_id, []).append(photo)
    timeline = [
        TimelineEntry(e, actors.get(e.actor_id) if e.actor_id else None, by_entity.get(e.id, []))
        for e in events
    ]
    after = [
        p for e in events if e.kind == HazardEventKind.rectification_reported for p in by_entity.get(e.id, [])
    ]
    found_in = session.get(Inspection, hazard.inspection_id) if hazard.inspection_id else None
    return HazardView(
        inspection_standing=oversight.standings(session, [found_in]).get(found_in.id) if found_in else None,
        status=status,
        overdue=status.is_overdue(today) if status else False,
        item=item,
        five_terms=five_terms,
        timeline=timeline,
        before=by_entity.get(hazard.id, []),
        after=after,
        allowed=rules.allowed_events(status) if status else frozenset(),
    )


@dataclass(frozen=True)
class KeyItemRow:
    """One key item on the enterprise page: applicable or why not, and its 清零 state."""

    item: CatalogueItem
    not_applicable: str | None
    clearance: ItemClearance | None
    #: The item's verdict on an inspection still awaiting review (待审核), shown apart.
    pending: ItemClearance | None = None


@dataclass(frozen=True)
class InspectionRow:
    """An inspection on the enterprise page, with its inspectors' names."""

    inspection: Inspection
    inspectors: list[str]
    standing: InspectionStanding | None = None


@dataclass(frozen=True)
class EnterpriseView:
    """Everything the enterprise page shows."""

    enterprise: Enterprise
    verdict: oversight.EnterpriseClearance | None
    key_items: list[KeyItemRow]
    inspections: list[InspectionRow]
    hazards: list[Hazard]
    open_hazards: int
    overdue_ids: set[uuid.UUID]

    @property
    def excluded(self) -> list[InspectionRow]:
        """Inspections that would count but do not, because their evidence fails (each says why)."""
        return [
            r for r in self.inspections if r.standing is not None and r.standing.standing is Standing.excluded
        ]


def enterprise_view(
    session: DbSession, user: User, enterprise_id: uuid.UUID, today: date
) -> EnterpriseView | None:
    """The enterprise page's content, or None when the enterprise is unknown or outside the user's scope."""
    enterprise = session.scalar(visible_enterprises(session, user).where(Enterprise.id == enterprise_id))
    if enterprise is None:
        return None
    verdict = oversight.clearances(session, user, today, [enterprise.id]).get(enterprise.id)
    inspections = session.scalars(
        visible_inspections(session, user)
        .where(Inspection.enterprise_id == enterprise.id)
        .order_by(Inspection.started_at.desc().nulls_last(), Inspection.id)
        .limit(ENTERPRISE_PAGE_ROWS)
    ).all()
    latest_id = _latest_counting_id(session, user, enterprise.id)
    catalogue = _catalogue_for(session, latest_id, today)
    names: dict[uuid.UUID, list[str]] = {}
    for inspection_id, name in session.execute(
        sa.select(InspectionParticipant.inspection_id, InspectionParticipant.name)
        .where(
            InspectionParticipant.inspection_id.in_([i.id for i in inspections]),
            InspectionParticipant.role == "inspector",
        )
        .order_by(InspectionParticipant.ordinal)
    ):
        names.setdefault(inspection_id, []).append(name)
    standing = oversight.standings(session, inspections)
    hazards = session.scalars(
        sa.select(Hazard)
        .where(Hazard.enterprise_id == enterprise.id, Hazard.deleted_at.is_(None))
        .order_by(Hazard.found_at.desc(), Hazard.id)
        .limit(ENTERPRISE_PAGE_ROWS)
    ).all()
    open_count = session.scalar(
        sa.select(sa.func.count()).where(
            Hazard.enterprise_id == enterprise.id,
            Hazard.deleted_at.is_(None),
            Hazard.state.in_([s.value for s in OPEN_STATES]),
        )
    )
    overdue_ids = set(
        session.scalars(
            sa.select(Hazard.id).where(
                Hazard.enterprise_id == enterprise.id, oversight.overdue_condition(today)
            )
        )
    )
    return EnterpriseView(
        enterprise=enterprise,
        verdict=verdict,
        key_items=_key_item_rows(session, catalogue, enterprise, verdict),
        inspections=[InspectionRow(i, names.get(i.id, []), standing.get(i.id)) for i in inspections],
        hazards=list(hazards),
        open_hazards=open_count or 0,
        overdue_ids=overdue_ids,
    )


def _latest_counting_id(session: DbSession, user: User, enterprise_id: uuid.UUID) -> uuid.UUID | None:
    latest = oversight.latest_inspections(session, [enterprise_id], user)
    return session.scalar(sa.select(latest.c.id))


def _key_item_rows(
    session: DbSession, catalogue: Catalogue | None, enterprise: Enterprise, verdict: Any
) -> list[KeyItemRow]:
    if catalogue is None:
        return []
    items = session.scalars(
        sa.select(CatalogueItem)
        .where(CatalogueItem.catalogue_id == catalogue.id, CatalogueItem.section == "key")
        .order_by(CatalogueItem.ordinal)
    ).all()
    by_code = {c.code: c for c in verdict.verdict.items} if verdict is not None else {}
    pending = {c.code: c for c in verdict.pending.items} if verdict is not None and verdict.pending else {}
    profile = enterprise.profile()
    return [
        KeyItemRow(
            item,
            why_not(ApplicabilityRule.from_dict(item.applies_when), profile),
            by_code.get(item.code),
            pending.get(item.code),
        )
        for item in items
    ]
