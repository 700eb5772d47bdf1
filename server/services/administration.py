"""A first install without the demo: regions, campaigns and users set up by the bureau's IT contractor, and the
account chores (disable, enable, reset a password). Every change is written to the audit log, as done by the
admin who made it on the admin pages, or by the command line (no signed-in actor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from server import credentials
from server.errors import (
    campaign_exists,
    campaign_fields_required,
    campaign_phases_missing,
    own_account_locked,
    phase_code_unknown,
    phase_overlaps,
    phase_repeated,
    phase_starts_after_end,
    region_code_unknown,
    region_exists,
    region_fields_required,
    region_parent_wrong,
    share_not_a_percent,
    user_unknown,
)
from server.models import Campaign, CampaignPhase, Region, RegionLevel, User
from server.services import DbSession, audit, sessions
from server.services.users import password_problem

#: The campaign's phases in order, with their names (DESIGN: the five phases of the 大检查).
PHASE_NAMES = {
    "deployment": "动员部署",
    "self_inspection": "企业自查自改",
    "county_coverage": "县级全覆盖检查",
    "city_sampling": "市级督导抽查",
    "look_back": "回头看",
}


#: A region level's name, for the messages.
LEVEL_NAMES = {RegionLevel.city: "市", RegionLevel.county: "县", RegionLevel.zone: "园区"}


def region_by_code(session: DbSession, code: str) -> Region:
    """The region with this code (region_code_unknown when there is none)."""
    region = session.scalar(sa.select(Region).where(Region.code == code.strip()))
    if region is None:
        raise region_code_unknown(code=code)
    return region


def create_region(
    session: DbSession,
    *,
    code: str,
    name: str,
    level: RegionLevel,
    parent_code: str | None,
    authority: str | None,
    actor: User | None = None,
) -> Region:
    """Add a region under its parent: a city has none, a county sits in a city, a zone in a county."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise region_fields_required()
    if session.scalar(sa.select(Region.id).where(Region.code == code)) is not None:
        raise region_exists(code=code)
    parent = region_by_code(session, parent_code) if parent_code else None
    wanted_parent = {
        RegionLevel.city: None,
        RegionLevel.county: RegionLevel.city,
        RegionLevel.zone: RegionLevel.county,
    }
    needed = wanted_parent[level]
    if (parent.level if parent else None) != needed:
        raise region_parent_wrong(
            level=LEVEL_NAMES[level], level_en=level.value,
            needs="无上级" if needed is None else f"以{LEVEL_NAMES[needed]}为上级",
            needs_en="no parent" if needed is None else f"a {needed.value} as parent",
        )  # fmt: skip
    region = Region(
        code=code, name=name, level=level, parent=parent, authority_name=(authority or "").strip() or None
    )
    session.add(region)
    session.flush()
    audit.record(session, actor, "region.create", "region", region.id, {"code": code, "name": name})
    return region


@dataclass(frozen=True)
class PhasePlan:
    """One phase as given on the command line."""

    code: str
    starts_on: date
    ends_on: date


def create_campaign(
    session: DbSession,
    *,
    code: str,
    name: str,
    region_code: str,
    sampling_percent: int,
    phases: Sequence[PhasePlan],
    actor: User | None = None,
) -> Campaign:
    """Add a campaign with its phases (known phase codes, each start ≤ end, in order, none overlapping)."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise campaign_fields_required()
    if session.scalar(sa.select(Campaign.id).where(Campaign.code == code)) is not None:
        raise campaign_exists(code=code)
    if not 0 < sampling_percent <= 100:
        raise share_not_a_percent(value=sampling_percent)
    if not phases:
        raise campaign_phases_missing()
    previous_end: date | None = None
    for phase in phases:
        if phase.code not in PHASE_NAMES:
            raise phase_code_unknown(code=phase.code, known=", ".join(PHASE_NAMES))
        if phase.starts_on > phase.ends_on:
            raise phase_starts_after_end(code=phase.code)
        if previous_end is not None and phase.starts_on <= previous_end:
            raise phase_overlaps(code=phase.code)
        previous_end = phase.ends_on
    if len({p.code for p in phases}) != len(phases):
        raise phase_repeated()
    campaign = Campaign(code=code, name=name, region=region_by_code(session, region_code),
                        sampling_percent=sampling_percent)  # fmt: skip
    campaign.phases = [CampaignPhase(code=p.code, name=PHASE_NAMES[p.code], starts_on=p.starts_on, ends_on=p.ends_on)
                       for p in phases]  # fmt: skip
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", "campaign", campaign.id, {"code": code})
    return campaign


def user_by_name(session: DbSession, username: str) -> User:
    """The user with this name (user_unknown when there is none)."""
    user = session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        raise user_unknown(username=username)
    return user


def set_active(session: DbSession, username: str, active: bool, actor: User | None = None) -> User:
    """Disable (their sessions and devices stop working at once) or enable an account."""
    user = user_by_name(session, username)
    if actor is not None and actor.id == user.id and not active:
        raise own_account_locked()  # an admin locking themself out leaves nobody to undo it
    if user.active != active:
        user.active = active
        audit.record(session, actor, "user.enable" if active else "user.disable", "user", user.id)
    return user


def reset_password(session: DbSession, username: str, password: str, actor: User | None = None) -> User:
    """Give an account a new password (strong enough: users.password_problem); its open sessions end."""
    user = user_by_name(session, username)
    if (weak := password_problem(password, user.username)) is not None:
        raise weak
    user.password_hash = credentials.hash_password(password)
    ended = sessions.end_all(session, user.id)
    audit.record(session, actor, "user.reset_password", "user", user.id, {"sessions_ended": ended})
    return user
