"""The campaign a supervisor watches and its coverage per phase: which enterprises were inspected, with evidence that holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain import counting
from server.models import Campaign, CampaignPhase, Enterprise, Inspection, User
from server.services import DbSession
from server.services.oversight.stamped import transaction_memo
from server.services.scope import visible_enterprise_ids, visible_region_ids

# --- campaign and coverage ----------------------------------------------------------------------------


def campaign_for(session: DbSession, user: User) -> Campaign | None:
    """The newest campaign run by a region the user sees, or by one above the user's region."""
    regions = visible_region_ids(session, user)
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(1)
    if regions is not None:
        above = {r.id for r in user.region.ancestors_and_self()} if user.region is not None else set()
        query = query.where(Campaign.region_id.in_(regions | above))
    return session.scalar(query)


@dataclass(frozen=True)
class PhaseCoverage:
    """How many enterprises in scope had a counting inspection finished within one phase."""

    phase: CampaignPhase
    inspected: int
    in_scope: int
    current: bool

    @property
    def percent(self) -> float:
        """Coverage as a percentage (0 when nothing is in scope)."""
        return 100.0 * self.inspected / self.in_scope if self.in_scope else 0.0


def enterprise_ids_of(session: DbSession, user: User | None) -> sa.Select[Any]:
    """Ids of the enterprises ``user`` may see; every enterprise when ``user`` is None."""
    if user is None:
        return sa.select(Enterprise.id).where(Enterprise.deleted_at.is_(None))
    return visible_enterprise_ids(session, user)


def evidence_holds() -> sa.ColumnElement[bool]:
    """SQL: the inspection carries a device seal that verified (server.domain.counting.standing's seal rule).

    Whether the answers held still equal the sealed ones is checked on the inspections whose answers a figure
    reads (each enterprise's latest, see clearances) and on every page that shows one inspection.
    """
    return sa.and_(Inspection.sealed_record.is_not(None), Inspection.seal_verified.is_(True))


def counting_conditions(
    session: DbSession, user: User | None, statuses: frozenset[str] = counting.COVERAGE_STATUSES
) -> list[sa.ColumnElement[bool]]:
    """SQL conditions on ``Inspection``: a regulator's finished inspection in ``statuses`` whose seal verified,
    in the user's scope; put straight into a query on inspection (no second pass over the table, as
    ``Inspection.id IN (counting_inspections(...))`` costs: ~50 ms per query at province scale)."""
    return [
        Inspection.enterprise_id.in_(enterprise_ids_of(session, user)),
        Inspection.deleted_at.is_(None),
        Inspection.status.in_(sorted(statuses)),
        Inspection.kind != counting.SELF_KIND,
        Inspection.finished_at.is_not(None),
        evidence_holds(),
    ]


def counting_inspections(
    session: DbSession, user: User | None, statuses: frozenset[str] = counting.COVERAGE_STATUSES
) -> sa.Select[uuid.UUID]:
    """Ids of a regulator's finished inspections in ``statuses`` whose seal verified, in the user's scope
    (the default statuses are those that count for coverage; server.domain.counting decides)."""
    return sa.select(Inspection.id).where(*counting_conditions(session, user, statuses))


def inspected_in(
    session: DbSession, user: User, starts_on: date, ends_on: date, tz: tzinfo
) -> sa.Select[Any]:
    """Ids of enterprises in scope with a counting inspection finished between the two days (inclusive)."""
    return (
        sa.select(Inspection.enterprise_id)
        .where(
            Inspection.id.in_(counting_inspections(session, user)),
            Inspection.finished_at >= clock.day_start(starts_on, tz),
            Inspection.finished_at < clock.day_end(ends_on, tz),
        )
        .distinct()
    )


def coverage_by_phase(
    session: DbSession, user: User, campaign: Campaign | None, today: date, tz: tzinfo
) -> list[PhaseCoverage]:
    """Coverage of every phase of the campaign; the phase running today is marked current."""
    if campaign is None:
        return []
    phases = list(campaign.phases)
    in_scope, counts = coverage_counts(session, user, phases, tz)
    return [
        PhaseCoverage(p, counts.get(p.id, 0), in_scope, p.starts_on <= today <= p.ends_on) for p in phases
    ]


def coverage_counts(
    session: DbSession, user: User, phases: list[CampaignPhase], tz: tzinfo
) -> tuple[int, dict[int, int]]:
    """Enterprises in scope, and by phase id those with a counting inspection finished within the phase.

    One pass over the counting inspections: phases do not overlap, so each inspection falls in at most one.
    """
    in_scope = session.scalar(
        sa.select(sa.func.count()).select_from(visible_enterprise_ids(session, user).subquery())
    )
    counts: dict[int, int] = {}
    if phases:
        phase_of = sa.case(
            *(
                (
                    sa.and_(
                        Inspection.finished_at >= clock.day_start(p.starts_on, tz),
                        Inspection.finished_at < clock.day_end(p.ends_on, tz),
                    ),
                    p.id,
                )
                for p in phases
            ),
            else_=None,
        ).label("phase_id")
        rows = (
            sa.select(phase_of, Inspection.enterprise_id)
            .where(*counting_conditions(session, user))
            .distinct()
            .subquery()
        )
        grouped = session.execute(
            sa.select(rows.c.phase_id, sa.func.count())
            .where(rows.c.phase_id.is_not(None))
            .group_by(rows.c.phase_id)
        )
        counts = {phase_id: n for phase_id, n in grouped.all()}  # noqa: C416 (rows, not pairs)
    return in_scope or 0, counts


def enterprise_regions(session: DbSession, ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """The region of every enterprise not deleted (of ``ids`` only, when given); asked once per transaction."""
    memo = transaction_memo(session).setdefault("enterprise_regions", {})
    key = None if ids is None else tuple(ids)
    if key not in memo:
        query = sa.select(Enterprise.id, Enterprise.region_id).where(Enterprise.deleted_at.is_(None))
        if ids is not None:
            query = query.where(Enterprise.id.in_(ids))
        memo[key] = {eid: region for eid, region in session.execute(query)}  # noqa: C416 (rows, not pairs)
    found: dict[uuid.UUID, int] = memo[key]
    return found


def enterprises_tally(session: DbSession, ids: Any | None) -> dict[uuid.UUID, dict[Any, int]]:
    """``"enterprises"`` 1 for every enterprise not deleted that ``ids`` selects (a list, a select, None: all)."""
    if ids is None or isinstance(ids, list):
        return {eid: {"enterprises": 1} for eid in enterprise_regions(session, ids)}
    query = sa.select(Enterprise.id).where(Enterprise.deleted_at.is_(None), Enterprise.id.in_(ids))
    return {eid: {"enterprises": 1} for eid in session.scalars(query)}


def coverage_tallies(session: DbSession, phases: list[CampaignPhase], tz: tzinfo) -> Any:
    """Counts each enterprise's part of ``coverage_counts``: ``"enterprises"`` 1 for every enterprise not
    deleted, and ``("phase", id)`` 1 for each phase it had a counting inspection finished within (an
    oversight.contributions.Counting)."""

    def count(ids: Any | None) -> dict[uuid.UUID, dict[Any, int]]:
        tallies = enterprises_tally(session, ids)
        if not phases:
            return tallies
        phase_of = sa.case(
            *(
                (sa.and_(Inspection.finished_at >= clock.day_start(p.starts_on, tz),
                         Inspection.finished_at < clock.day_end(p.ends_on, tz)), p.id)
                for p in phases
            ),
            else_=None,
        )  # fmt: skip
        query = (
            sa.select(Inspection.enterprise_id, phase_of.label("phase_id"))
            .where(*counting_conditions(session, None), phase_of.is_not(None))
            .distinct()
        )
        if ids is not None:
            query = query.where(Inspection.enterprise_id.in_(ids))
        for enterprise_id, phase_id in session.execute(query):
            if enterprise_id in tallies:
                tallies[enterprise_id]["phase", phase_id] = 1
        return tallies

    return count
