"""What an enterprise may see of the regulators' work (四不两直), its portal home page and its lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from server.domain.hazards import OPEN_STATES, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus
from server.domain.roles import Role
from server.models import (
    Blob,
    Campaign,
    CampaignPhase,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    ItemResult,
    Photo,
    User,
)
from server.services import DbSession, oversight
from server.services.campaigns import campaign_of_enterprise

# --- what an enterprise may see (四不两直) -------------------------------------------------------------------

#: Statuses of a regulator's inspection whose findings the enterprise sees: never a draft (the visit may still be
#: under way, unannounced), nor a returned one (it is being corrected and may change).
RELEASED_STATUSES: tuple[str, ...] = (InspectionStatus.submitted.value, InspectionStatus.approved.value)


def released_inspections() -> sa.Select[uuid.UUID]:
    """Ids of inspections whose findings are released to the enterprise (submitted or approved)."""
    return sa.select(Inspection.id).where(
        Inspection.status.in_(RELEASED_STATUSES), Inspection.deleted_at.is_(None)
    )


def hazard_released() -> sa.ColumnElement[bool]:
    """SQL condition on Hazard: its enterprise may see it (its own ledger entry, or a released inspection's)."""
    return sa.or_(Hazard.source == HazardSource.self_ledger, Hazard.inspection_id.in_(released_inspections()))


def enterprise_hazards(enterprise_id: uuid.UUID) -> sa.Select[Hazard]:
    """The hazards of the enterprise that it may see."""
    return sa.select(Hazard).where(
        Hazard.enterprise_id == enterprise_id, Hazard.deleted_at.is_(None), hazard_released()
    )


def find_hazard(session: DbSession, enterprise_id: uuid.UUID, hazard_id: uuid.UUID) -> Hazard | None:
    """One hazard the enterprise may see, or None (unknown, another enterprise's, or not yet released)."""
    return session.scalar(enterprise_hazards(enterprise_id).where(Hazard.id == hazard_id))


def own_self_assessments(enterprise_id: uuid.UUID) -> sa.Select[uuid.UUID]:
    """Ids of the enterprise's own self-assessments (the only inspections it ever sees): decided by who made the
    record (one of the enterprise's own accounts), never by the kind a device wrote on it."""
    own_accounts = sa.select(User.id).where(User.enterprise_id == enterprise_id, User.role == Role.enterprise)
    return sa.select(Inspection.id).where(
        Inspection.enterprise_id == enterprise_id,
        Inspection.kind == InspectionKind.self_check.value,
        Inspection.created_by_id.in_(own_accounts),
        Inspection.deleted_at.is_(None),
    )


def visible_photo(
    session: DbSession, enterprise_id: uuid.UUID, photo_id: uuid.UUID
) -> tuple[Photo, Blob | None] | None:
    """A photo of something the enterprise may see (its hazards, their events, its self-assessment answers)."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None:
        return None
    hazard_id: Any = None
    if photo.entity_type == "hazard":
        hazard_id = photo.entity_id
    elif photo.entity_type == "hazard_event":
        hazard_id = session.scalar(sa.select(HazardEvent.hazard_id).where(HazardEvent.id == photo.entity_id))
    elif photo.entity_type == "item_result":
        own = session.scalar(
            sa.select(ItemResult.id).where(
                ItemResult.id == photo.entity_id,
                ItemResult.inspection_id.in_(own_self_assessments(enterprise_id)),
            )
        )
        return (photo, session.get(Blob, photo.sha256)) if own is not None else None
    if hazard_id is None or find_hazard(session, enterprise_id, hazard_id) is None:
        return None
    return photo, session.get(Blob, photo.sha256)


# --- the home page ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    """What the portal's home shows."""

    enterprise: Enterprise
    campaign: Campaign | None
    phase: CampaignPhase | None
    open_ledger: int
    overdue: int
    #: Found by regulators, the rectification still the enterprise's to do.
    awaiting: int


def _count(session: DbSession, query: sa.Select[Any]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


def home(session: DbSession, enterprise: Enterprise, today: date) -> Home:
    """The enterprise, the campaign phase running today and the figures it must chase."""
    campaign = campaign_of_enterprise(session, enterprise)
    hazards = enterprise_hazards(enterprise.id)
    open_values = [s.value for s in OPEN_STATES]
    return Home(
        enterprise=enterprise,
        campaign=campaign,
        phase=campaign.phase_on(today) if campaign else None,
        open_ledger=_count(
            session, hazards.where(Hazard.source == HazardSource.self_ledger, Hazard.state.in_(open_values))
        ),
        overdue=_count(session, hazards.where(oversight.overdue_condition(today))),
        awaiting=_count(
            session,
            hazards.where(
                Hazard.source != HazardSource.self_ledger, Hazard.state.in_(oversight.AWAITING_ENTERPRISE)
            ),
        ),
    )


# --- lists --------------------------------------------------------------------------------------------------

#: The status filters of the portal's lists.
STATUS_FILTERS = {"open": "未闭环 / open", "overdue": "逾期 / overdue", "done": "已验收或销号 / done"}
#: Who found a hazard, as the rectification list filters it.
FINDER_FILTERS = {"self": "企业自查 / own ledger", "regulator": "监管部门检查 / regulators"}


@dataclass(frozen=True)
class ListFilters:
    """What a portal list may be narrowed to; None means any."""

    status: str | None = None
    level: HazardLevel | None = None
    finder: str | None = None


def hazard_page(
    session: DbSession,
    enterprise_id: uuid.UUID,
    filters: ListFilters,
    today: date,
    page: int,
    *,
    ledger: bool,
) -> oversight.Page:
    """One page of the enterprise's hazards: its own ledger (newest check first) or every hazard it may see
    (the nearest deadline first); rows are 1-tuples of Hazard."""
    query = enterprise_hazards(enterprise_id)
    if ledger or filters.finder == "self":
        query = query.where(Hazard.source == HazardSource.self_ledger)
    elif filters.finder == "regulator":
        query = query.where(Hazard.source != HazardSource.self_ledger)
    if filters.status == "open":
        query = query.where(Hazard.state.in_([s.value for s in OPEN_STATES]))
    elif filters.status == "overdue":
        query = query.where(oversight.overdue_condition(today))
    elif filters.status == "done":
        query = query.where(Hazard.state.in_([HazardState.accepted.value, HazardState.closed.value]))
    if filters.level is not None:
        query = query.where(Hazard.level == filters.level)
    if ledger:
        query = query.order_by(Hazard.found_at.desc(), Hazard.id)
    else:
        query = query.order_by(Hazard.deadline.is_(None), Hazard.deadline, Hazard.found_at.desc(), Hazard.id)
    return oversight.paged(session, query, page)
