"""The supervisors' dashboard: coverage, 清零, hazard figures, devices and the quarantine in one view."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any, cast

import sqlalchemy as sa

from server.domain.roles import Role
from server.models import Campaign, CampaignPhase, Device, Quarantine, User
from server.services import DbSession
from server.services.oversight.clearance import (
    ClearanceCache,
    SectorClearance,
    all_clearances,
    clearance_by_sector,
    kind_of,
    scope_clearances,
    sectors_of_kinds,
)
from server.services.oversight.contributions import ContributionCache, scope_tally
from server.services.oversight.coverage import PhaseCoverage, campaign_for, coverage_counts, coverage_tallies
from server.services.oversight.hazard_figures import (
    HazardFigures,
    Window,
    campaign_window,
    figures_of_tally,
    hazard_figures,
    hazard_tallies,
)
from server.services.oversight.stamped import StampedCache, change_stamp
from server.services.scope import visible_region_ids

# --- devices and quarantine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceRow:
    """A registered device, whose it is, when it last synced and what of it waits in quarantine."""

    device: Device
    user: User
    quarantined: int


def devices_in_scope(session: DbSession, user: User, limit: int = 200) -> list[DeviceRow]:
    """Devices of users in the user's regions (every device for an admin), the longest silent first."""
    query: Any = (
        sa.select(Device, User).join(User, Device.user_id == User.id).where(User.role != Role.enterprise)
    )
    regions = visible_region_ids(session, user)
    if regions is not None:
        query = query.where(User.region_id.in_(regions))
    pending = (
        sa.select(Quarantine.device_id, sa.func.count().label("n"))
        .where(Quarantine.resolved_at.is_(None))
        .group_by(Quarantine.device_id)
        .subquery()
    )
    query = query.add_columns(sa.func.coalesce(pending.c.n, 0)).outerjoin(
        pending, pending.c.device_id == Device.id
    )
    query = query.order_by(
        Device.revoked_at.is_not(None), Device.last_seen_at.is_(None).desc(), Device.last_seen_at
    )
    return [DeviceRow(device, owner, count) for device, owner, count in session.execute(query.limit(limit))]


def quarantine_pending(session: DbSession, user: User) -> int:
    """Refused mutations not yet resolved, from devices the user's scope covers."""
    query = sa.select(sa.func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))
    regions = visible_region_ids(session, user)
    if regions is not None:
        devices = (
            sa.select(Device.id).join(User, Device.user_id == User.id).where(User.region_id.in_(regions))
        )
        query = query.where(Quarantine.device_id.in_(devices))
    return session.scalar(query) or 0


# --- the dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    today: date
    campaign: Campaign | None
    coverage: list[PhaseCoverage]
    sectors: list[SectorClearance]
    hazards: HazardFigures
    devices: list[DeviceRow]
    quarantined: int


def dashboard(
    session: DbSession,
    user: User,
    today: date,
    tz: tzinfo,
    cache: ClearanceCache | None = None,
    figures: StampedCache | None = None,
    contributions: ContributionCache | None = None,
) -> Dashboard:
    """The supervisor's overview for ``today`` (a day in the bureau's zone ``tz``), within the user's scope;
    with ``figures``, coverage, 清零 and hazard counts are counted again only after something was written, and
    with ``contributions`` only for the enterprises written since (oversight.contributions)."""
    # Read before the data: rows committed meanwhile can only make the figures newer than the stamp.
    stamp = change_stamp(session)
    campaign = campaign_for(session, user)
    phases = list(campaign.phases) if campaign is not None else []
    window = campaign_window(campaign, tz)
    regions = visible_region_ids(session, user)
    # Everything the counts depend on besides the synced rows, whose writes move the stamp.
    key = (
        "dashboard", user.id, user.role, user.enterprise_id, None if regions is None else frozenset(regions),
        today, tuple((p.id, p.starts_on, p.ends_on) for p in phases), str(tz),
    )  # fmt: skip
    counted = figures.get(key, stamp) if figures is not None else None
    if counted is None:
        counted = (
            _coverage(session, user, stamp, phases, tz, contributions) if campaign is not None else (0, {}),
            _sectors(session, user, stamp, today, cache, contributions),
            _hazards(session, user, stamp, today, window, contributions),
        )
        if figures is not None:
            figures.put(key, stamp, counted)
    (in_scope, covered), sectors, hazards = counted
    return Dashboard(
        today=today,
        campaign=campaign,
        coverage=[
            PhaseCoverage(p, covered.get(p.id, 0), in_scope, p.starts_on <= today <= p.ends_on)
            for p in phases
        ],
        sectors=list(sectors),
        hazards=hazards,
        devices=devices_in_scope(session, user),
        quarantined=quarantine_pending(session, user),
    )


def _coverage(
    session: DbSession,
    user: User,
    stamp: int,
    phases: list[CampaignPhase],
    tz: tzinfo,
    contributions: ContributionCache | None,
) -> tuple[int, dict[int, int]]:
    """``coverage_counts``, from the enterprises' kept contributions when ``contributions`` is given."""
    if contributions is None:
        return coverage_counts(session, user, phases, tz)
    key = ("coverage", tuple((p.id, p.starts_on, p.ends_on) for p in phases), str(tz))
    tally = scope_tally(session, user, stamp, key, coverage_tallies(session, phases, tz), contributions)
    covered = {name[1]: int(n) for name, n in tally.items() if isinstance(name, tuple)}
    return int(tally.get("enterprises", 0)), covered


def _hazards(
    session: DbSession,
    user: User,
    stamp: int,
    today: date,
    window: Window | None,
    contributions: ContributionCache | None,
) -> HazardFigures:
    """``hazard_figures``, from the enterprises' kept contributions when ``contributions`` is given."""
    if contributions is None:
        return hazard_figures(session, user, today, window)
    key = ("hazards", today, None if window is None else (window.starts_on, window.ends_on, str(window.tz)))
    tally = scope_tally(session, user, stamp, key, hazard_tallies(session, today, window), contributions)
    return figures_of_tally(tally, window)


def _sectors(
    session: DbSession,
    user: User,
    stamp: int,
    today: date,
    cache: ClearanceCache | None,
    contributions: ContributionCache | None,
) -> list[SectorClearance]:
    """``clearance_by_sector`` of the scope, from each enterprise's kept kind of verdict when ``contributions``
    (and the verdicts' ``cache``) are given: a pass over a province's 10,000 verdicts per view is ~20 ms."""
    if contributions is None or cache is None or user.role == Role.enterprise:
        return clearance_by_sector(scope_clearances(session, user, today, cache).values())
    verdicts = all_clearances(session, today, cache)

    def count(ids: Any | None) -> dict[uuid.UUID, dict[Any, int]]:
        chosen = verdicts if ids is None else [e for e in ids if e in verdicts]
        return {e: {kind_of(verdicts[e]): 1} for e in chosen}

    tally = scope_tally(session, user, stamp, ("sectors", today), count, contributions)
    return sectors_of_kinds(Counter(cast(dict[Any, int], tally)))
