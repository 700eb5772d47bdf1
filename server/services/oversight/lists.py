"""The supervisors' paged lists of hazards and enterprises, with their filters."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain import counting
from server.domain.hazards import OPEN_STATES, HazardLevel, HazardState
from server.domain.sectors import Sector
from server.models import Enterprise, Hazard, Region, User
from server.models.base import lists_as_arrays, none_of, one_of
from server.models.enterprise import SECTOR_COLUMNS
from server.services import DbSession
from server.services.oversight.clearance import (
    ClearanceCache,
    EnterpriseClearance,
    all_clearances,
    clearances,
    scope_clearances,
)
from server.services.oversight.coverage import inspected_in
from server.services.oversight.hazard_figures import overdue_condition, recorded_for_good
from server.services.scope import visible_enterprise_ids

# --- lists --------------------------------------------------------------------------------------------

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a list, with how many rows match in all."""

    rows: list[Any]
    total: int
    page: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """Number of pages (at least 1, so an empty list still has its page)."""
        return max(1, -(-self.total // self.size))


def paged(session: DbSession, query: Any, page: int, size: int = PAGE_SIZE) -> Page:
    """Run ``query`` for one page, and count all its rows."""
    page = max(1, page)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.execute(query.limit(size).offset((page - 1) * size)).all())
    return Page(rows, total, page, size)


@dataclass(frozen=True)
class HazardFilters:
    """What the hazard ledger may be narrowed to; None means any."""

    enterprise_id: uuid.UUID | None = None
    q: str | None = None
    sector: Sector | None = None
    level: HazardLevel | None = None
    state: HazardState | None = None
    source: str | None = None
    overdue: bool = False
    listed: bool = False
    open_only: bool = False
    stop_production: bool = False
    #: Only hazards found on or after / on or before these days (the bureau's days; the dashboard's window).
    found_from: date | None = None
    found_to: date | None = None
    #: Only what the figures count: not a finding of an inspection still in draft.
    counted: bool = False


def hazard_list(
    session: DbSession, user: User, filters: HazardFilters, today: date, tz: tzinfo, page: int = 1
) -> Page:
    """Hazards in scope matching ``filters``, the nearest deadline first; rows are (Hazard, enterprise name)."""
    query = sa.select(Hazard).where(
        Hazard.enterprise_id.in_(visible_enterprise_ids(session, user)), Hazard.deleted_at.is_(None)
    )
    # Only a filter on the enterprise's own columns needs the join for the count (every hazard has its
    # enterprise, so the join itself drops no row).
    by_enterprise = bool(filters.q) or filters.sector is not None
    if by_enterprise:
        query = query.join(Enterprise, Enterprise.id == Hazard.enterprise_id)
    if filters.enterprise_id is not None:
        query = query.where(Hazard.enterprise_id == filters.enterprise_id)
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(
            sa.or_(Enterprise.name.like(like), Hazard.description.like(like), Hazard.place.like(like))
        )
    if filters.sector is not None:
        query = query.where(getattr(Enterprise, SECTOR_COLUMNS[filters.sector]).is_(True))
    if filters.level is not None:
        query = query.where(Hazard.level == filters.level)
    if filters.state is not None:
        query = query.where(Hazard.state == filters.state)
    if filters.source:
        query = query.where(Hazard.source == filters.source)
    if filters.counted:
        query = query.where(recorded_for_good())
    if filters.found_from is not None:
        query = query.where(Hazard.found_at >= clock.day_start(filters.found_from, tz))
    if filters.found_to is not None:
        query = query.where(Hazard.found_at < clock.day_end(filters.found_to, tz))
    if filters.overdue:
        query = query.where(overdue_condition(today))
    if filters.listed:
        query = query.where(Hazard.listed.is_(True))
    if filters.open_only:
        query = query.where(Hazard.state.in_([s.value for s in OPEN_STATES]))
    if filters.stop_production:
        query = query.where(
            Hazard.stop_production.is_(True), Hazard.state.in_([s.value for s in OPEN_STATES])
        )
    page = max(1, page)
    total = session.scalar(query.with_only_columns(sa.func.count()).order_by(None)) or 0
    if not by_enterprise:
        query = query.join(Enterprise, Enterprise.id == Hazard.enterprise_id)
    # Deadlines first, those without one last: written as NULLS LAST (not "deadline IS NULL" first) so that
    # PostgreSQL walks ix_hazard_deadline and stops at the page instead of sorting every hazard in scope.
    query = query.add_columns(Enterprise.name).order_by(
        Hazard.deadline.asc().nulls_last(), Hazard.found_at.desc(), Hazard.id
    )
    rows = list(session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all())
    return Page(rows, total, page, PAGE_SIZE)


@dataclass(frozen=True)
class EnterpriseFilters:
    """What the enterprise list may be narrowed to."""

    q: str | None = None
    sector: Sector | None = None
    region_id: int | None = None
    #: Only enterprises (not) inspected within a phase: (starts_on, ends_on, inspected?).
    inspected_between: tuple[date, date, bool] | None = None
    #: Only enterprises whose 清零 verdict is this (True: 已清零; False: not 已清零, 待审核 included).
    cleared: bool | None = None
    #: Only enterprises whose 清零 waits on an inspection under review (待审核).
    pending: bool = False


def enterprise_list(
    session: DbSession,
    user: User,
    filters: EnterpriseFilters,
    today: date,
    page: int = 1,
    cache: ClearanceCache | None = None,
    tz: tzinfo | None = None,
) -> Page:
    """Enterprises in scope matching ``filters``, by name; rows are (Enterprise, region name, 清零 verdict).

    ``tz`` (the bureau's zone) is needed only to filter by a phase's days."""

    ids = visible_enterprise_ids(session, user)
    query = (
        sa.select(Enterprise, Region.name)
        .join(Region, Region.id == Enterprise.region_id)
        .where(Enterprise.id.in_(ids))
    )
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(
            sa.or_(
                Enterprise.name.like(like), Enterprise.credit_code.like(like), Enterprise.address.like(like)
            )
        )
    if filters.sector is not None:
        query = query.where(getattr(Enterprise, SECTOR_COLUMNS[filters.sector]).is_(True))
    if filters.region_id is not None:
        query = query.where(Enterprise.region_id == filters.region_id)
    if filters.inspected_between is not None:
        starts_on, ends_on, inspected = filters.inspected_between
        if tz is None:
            raise ValueError("a phase filter needs the bureau's time zone")
        covered = Enterprise.id.in_(inspected_in(session, user, starts_on, ends_on, tz))
        query = query.where(covered if inspected else sa.not_(covered))
    query = query.order_by(Enterprise.name, Enterprise.id)
    if filters.cleared is not None or filters.pending:
        # 清零 is derived, not stored: decide it for the candidates, then page what remains.
        verdicts = scope_clearances(session, user, today, cache)
        keep = [
            eid for eid, v in verdicts.items()
            if (filters.cleared is None or v.verdict.cleared == filters.cleared)
            and (not filters.pending or v.status is counting.ClearanceStatus.pending_review)
        ]  # fmt: skip
        # On PostgreSQL as one array parameter: a province's ~10,000 ids as as many parameters cost ~0.7 s to
        # render and send.
        postgres = lists_as_arrays(session)
        if 2 * len(keep) > len(verdicts):
            # The verdicts are those of every enterprise in scope: leaving out the fewer that do not match is
            # the same filter, and PostgreSQL checks a short list per row much faster (~20 ms, not ~70 ms).
            keep_set = set(keep)
            left_out = [e for e in verdicts if e not in keep_set]
            query = query.where(none_of(Enterprise.id, "none_of", arrays=postgres, values=left_out))
        else:
            query = query.where(one_of(Enterprise.id, "ids", arrays=postgres, values=keep))
        return _with_verdicts(session, user, today, paged(session, query, page), verdicts)
    # The kept verdicts of every enterprise (patched since their stamp) spare deciding the page's anew on every
    # request (≈200 ms at province scale).
    kept = all_clearances(session, today, cache) if cache is not None else {}
    return _with_verdicts(session, user, today, paged(session, query, page), kept)


def _with_verdicts(
    session: DbSession,
    user: User,
    today: date,
    result: Page,
    verdicts: Mapping[uuid.UUID, EnterpriseClearance],
) -> Page:
    """``result``'s rows (enterprise, region name) with each one's 清零 verdict from ``verdicts``; an enterprise
    they lack (added since their stamp) is decided here."""
    missing = [e.id for e, _ in result.rows if e.id not in verdicts]
    late = clearances(session, user, today, missing) if missing else {}
    return Page(
        [(e, region, verdicts.get(e.id) or late.get(e.id)) for e, region in result.rows],
        result.total,
        result.page,
    )
