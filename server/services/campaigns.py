"""Editing a campaign (专项行动): its name, the city's sampling percent and each phase's name and dates.

The phases are data (DESIGN §1): the county sets them to its notice's dates. A phase's code (deployment,
self_inspection, county_coverage, city_sampling, look_back) is what the rest of the system keys on, so it is
not editable; the phases keep their sequence, each lying wholly after the one before (no overlap), and every
change is audited as ``campaign.update`` with the campaign as it was and as it became.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from server.domain.sampling import MIN_SHARE_PERCENT, share_problem
from server.errors import (
    Problem,
    field_before,
    field_date_invalid,
    field_required,
    field_too_many_chars,
    field_year_out_of_range,
    phases_overlap,
    refuse_fields,
    share_below_floor,
    share_not_a_percent,
)
from server.models import Campaign, CampaignPhase, Enterprise, User
from server.services import DbSession, audit

NAME_MAX = 200
PHASE_NAME_MAX = 100
#: Dates outside these years are typing mistakes, not campaigns.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def campaigns(session: DbSession) -> list[Campaign]:
    """Every campaign, the newest first."""
    return list(session.scalars(sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())))


def ordered_phases(campaign: Campaign) -> list[CampaignPhase]:
    """The campaign's phases in their sequence (by start, then id: the order they were set up in)."""
    return sorted(campaign.phases, key=lambda p: (p.starts_on, p.id))


def current_phase(campaign: Campaign, today: date) -> CampaignPhase | None:
    """The phase running on ``today`` (the bureau's day), if any."""
    return campaign.phase_on(today)


def phase_field(phase: CampaignPhase, name: str) -> str:
    """The form field of one of a phase's values: ``phase-<id>-name``, ``-starts_on`` or ``-ends_on``."""
    return f"phase-{phase.id}-{name}"


def form_values(campaign: Campaign) -> dict[str, str]:
    """The campaign as the edit form shows it."""
    values = {"name": campaign.name, "sampling_percent": str(campaign.sampling_percent)}
    for phase in ordered_phases(campaign):
        values[phase_field(phase, "name")] = phase.name
        values[phase_field(phase, "starts_on")] = phase.starts_on.isoformat()
        values[phase_field(phase, "ends_on")] = phase.ends_on.isoformat()
    return values


def snapshot(campaign: Campaign) -> dict[str, Any]:
    """What the audit log records of a campaign (before and after a change)."""
    return {
        "name": campaign.name,
        "sampling_percent": campaign.sampling_percent,
        "phases": [
            {
                "code": p.code,
                "name": p.name,
                "starts_on": p.starts_on.isoformat(),
                "ends_on": p.ends_on.isoformat(),
            }
            for p in ordered_phases(campaign)
        ],
    }


def _date(raw: str, label: str, label_en: str) -> tuple[date | None, Problem | None]:
    """A date typed as YYYY-MM-DD, or the problem it is refused with."""
    raw = raw.strip()
    if not raw:
        return None, field_required(label=label, label_en=label_en)
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None, field_date_invalid(label=label, label_en=label_en, value=raw)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        return None, field_year_out_of_range(
            label=label, label_en=label_en, value=raw, first=FIRST_YEAR, last=LAST_YEAR
        )
    return value, None


def validate(campaign: Campaign, form: Mapping[str, str]) -> dict[str, Any]:
    """The new values from ``form``, or FormProblems naming every bad field."""
    errors: dict[str, Problem] = {}
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = field_required(label="专项行动名称", label_en="The campaign's name")
    elif len(name) > NAME_MAX:
        errors["name"] = field_too_many_chars(label="名称", label_en="The name", limit=NAME_MAX)
    raw_percent = (form.get("sampling_percent") or "").strip()
    percent: int | None = None
    if not raw_percent.isdigit() or not 1 <= int(raw_percent) <= 100:
        errors["sampling_percent"] = share_not_a_percent(value=raw_percent)
    elif share_problem(int(raw_percent)) is not None:
        errors["sampling_percent"] = share_below_floor(
            rule="通知", rule_en="notice", minimum=MIN_SHARE_PERCENT
        )
    else:
        percent = int(raw_percent)
    phases: list[dict[str, Any]] = []
    previous: tuple[CampaignPhase, date] | None = None
    for phase in ordered_phases(campaign):
        key_name, key_start, key_end = (phase_field(phase, k) for k in ("name", "starts_on", "ends_on"))
        phase_name = (form.get(key_name) or "").strip()
        if not phase_name:
            errors[key_name] = field_required(label="阶段名称", label_en="The phase's name")
        elif len(phase_name) > PHASE_NAME_MAX:
            errors[key_name] = field_too_many_chars(
                label="阶段名称", label_en="The phase's name", limit=PHASE_NAME_MAX
            )
        starts_on, why = _date(form.get(key_start) or "", "开始日期", "The start date")
        if why:
            errors[key_start] = why
        ends_on, why = _date(form.get(key_end) or "", "结束日期", "The end date")
        if why:
            errors[key_end] = why
        if starts_on and ends_on and ends_on < starts_on:
            errors[key_end] = field_before(
                label="结束日期", label_en="End date", value=ends_on.isoformat(),
                other="开始日期", other_en="start date", other_value=starts_on.isoformat(),
            )  # fmt: skip
        if starts_on and previous is not None and starts_on <= previous[1] and key_start not in errors:
            before, before_end = previous
            errors[key_start] = phases_overlap(previous=before.name, previous_end=before_end.isoformat())
        if ends_on is not None and (starts_on is None or ends_on >= starts_on):
            previous = (phase, ends_on)
        phases.append({"phase": phase, "name": phase_name, "starts_on": starts_on, "ends_on": ends_on})
    refuse_fields(errors)
    return {"name": name, "sampling_percent": percent, "phases": phases}


def update_campaign(session: DbSession, actor: User, campaign: Campaign, form: Mapping[str, str]) -> bool:
    """Apply the edit form to ``campaign``; audited as ``campaign.update``. False when nothing changed.

    Raises FormProblems (nothing is changed) when any field is invalid. The caller commits.
    """
    values = validate(campaign, form)
    before = snapshot(campaign)
    campaign.name = values["name"]
    campaign.sampling_percent = values["sampling_percent"]
    for change in values["phases"]:
        phase: CampaignPhase = change["phase"]
        phase.name, phase.starts_on, phase.ends_on = change["name"], change["starts_on"], change["ends_on"]
    after = snapshot(campaign)
    if after == before:
        return False
    session.flush()
    audit.record(
        session, actor, "campaign.update", "campaign", campaign.id, {"before": before, "after": after}
    )
    return True


def campaign_of_enterprise(session: DbSession, enterprise: Enterprise) -> Campaign | None:
    """The campaign an enterprise is under: the newest run by its region or a region above it."""
    above = [r.id for r in enterprise.region.ancestors_and_self()]
    query = sa.select(Campaign).where(Campaign.region_id.in_(above))
    return session.scalar(query.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(1))
