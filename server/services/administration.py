"""A first install without the demo: regions, campaigns and users set up by the bureau's IT contractor, and the
account chores (disable, enable, reset a password). Every change is written to the audit log as done by the
command line (no signed-in actor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from server import credentials
from server.models import Campaign, CampaignPhase, Region, RegionLevel, User
from server.services import DbSession, audit
from sync import problems

#: The campaign's phases in order, with their names (DESIGN: the five phases of the 大检查).
PHASE_NAMES = {
    "deployment": "动员部署",
    "self_inspection": "企业自查自改",
    "county_coverage": "县级全覆盖检查",
    "city_sampling": "市级督导抽查",
    "look_back": "回头看",
}


def region_by_code(session: DbSession, code: str) -> Region:
    """The region with this code (invalid_fields when there is none)."""
    region = session.scalar(sa.select(Region).where(Region.code == code.strip()))
    if region is None:
        raise problems.invalid_fields(fields=f"region: no region with code {code}")
    return region


def create_region(
    session: DbSession,
    *,
    code: str,
    name: str,
    level: RegionLevel,
    parent_code: str | None,
    authority: str | None,
) -> Region:
    """Add a region under its parent: a city has none, a county sits in a city, a zone in a county."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise problems.invalid_fields(fields="code and name are required")
    if session.scalar(sa.select(Region.id).where(Region.code == code)) is not None:
        raise problems.invalid_fields(fields=f"code: region {code} exists already")
    parent = region_by_code(session, parent_code) if parent_code else None
    wanted_parent = {
        RegionLevel.city: None,
        RegionLevel.county: RegionLevel.city,
        RegionLevel.zone: RegionLevel.county,
    }
    needed = wanted_parent[level]
    if (parent.level if parent else None) != needed:
        needs = "no parent" if needed is None else f"a {needed.value} as parent"
        raise problems.invalid_fields(fields=f"parent: a {level.value} needs {needs}")
    region = Region(
        code=code, name=name, level=level, parent=parent, authority_name=(authority or "").strip() or None
    )
    session.add(region)
    session.flush()
    audit.record(session, None, "region.create", "region", region.id, {"code": code, "name": name})
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
) -> Campaign:
    """Add a campaign with its phases (known phase codes, each start ≤ end, in order, none overlapping)."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise problems.invalid_fields(fields="code and name are required")
    if session.scalar(sa.select(Campaign.id).where(Campaign.code == code)) is not None:
        raise problems.invalid_fields(fields=f"code: campaign {code} exists already")
    if not 0 < sampling_percent <= 100:
        raise problems.invalid_fields(fields="sampling percent: 1-100")
    if not phases:
        raise problems.invalid_fields(fields="phases: at least one")
    previous_end: date | None = None
    for phase in phases:
        if phase.code not in PHASE_NAMES:
            raise problems.invalid_fields(fields=f"phase {phase.code}: one of {', '.join(PHASE_NAMES)}")
        if phase.starts_on > phase.ends_on:
            raise problems.invalid_fields(fields=f"phase {phase.code}: starts after it ends")
        if previous_end is not None and phase.starts_on <= previous_end:
            raise problems.invalid_fields(fields=f"phase {phase.code}: overlaps the phase before it")
        previous_end = phase.ends_on
    if len({p.code for p in phases}) != len(phases):
        raise problems.invalid_fields(fields="phases: each code once")
    campaign = Campaign(code=code, name=name, region=region_by_code(session, region_code),
                        sampling_percent=sampling_percent)  # fmt: skip
    campaign.phases = [CampaignPhase(code=p.code, name=PHASE_NAMES[p.code], starts_on=p.starts_on, ends_on=p.ends_on)
                       for p in phases]  # fmt: skip
    session.add(campaign)
    session.flush()
    audit.record(session, None, "campaign.create", "campaign", campaign.id, {"code": code})
    return campaign


def user_by_name(session: DbSession, username: str) -> User:
    """The user with this name (invalid_fields when there is none)."""
    user = session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        raise problems.invalid_fields(fields=f"username: no user {username}")
    return user


def set_active(session: DbSession, username: str, active: bool) -> User:
    """Disable (their sessions and devices stop working at once) or enable an account."""
    user = user_by_name(session, username)
    if user.active != active:
        user.active = active
        audit.record(session, None, "user.enable" if active else "user.disable", "user", user.id)
    return user


def reset_password(session: DbSession, username: str, password: str) -> User:
    """Give an account a new password (at least 8 characters)."""
    if len(password) < 8:
        raise problems.invalid_fields(fields="password: at least 8 characters")
    user = user_by_name(session, username)
    user.password_hash = credentials.hash_password(password)
    audit.record(session, None, "user.reset_password", "user", user.id)
    return user
