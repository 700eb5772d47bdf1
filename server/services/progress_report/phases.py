"""Per phase: 清零 at the end of each campaign phase (or at the cut-off for the phase running then)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, tzinfo
from typing import Any

from server.models import (
    Campaign,
    CampaignPhase,
)
from server.services.progress_report.as_of import Visit
from server.services.progress_report.clearance import ClearanceAsOf
from server.services.progress_report.figures import PhaseProgress, PhaseUnit
from server.services.progress_report.period import Cutoff, local_end_of, local_start_of
from server.services.progress_report.units import ReportScope, ReportUnit

# --- per phase ------------------------------------------------------------------------------------------------

#: A phase, its status at the cut-off ("ended", "current", "future"), the day 清零 is taken at the end of, and the
#: moment that is (None when 清零 is not meaningful then: a future phase, or no regulator's inspection yet).
PhasePlan = tuple[CampaignPhase, str, date | None, datetime | None]


def phase_moments(
    campaign: Campaign | None, cutoff: Cutoff, zone: tzinfo, counting: list[Visit]
) -> list[PhasePlan]:
    """When each phase's 清零 is taken: the end of its last day, or of the cut-off day for the phase running then."""
    plan: list[PhasePlan] = []
    for phase in campaign.phases if campaign is not None else []:
        if phase.starts_on > cutoff.day:
            plan.append((phase, "future", None, None))
            continue
        ended = phase.ends_on < cutoff.day
        day = phase.ends_on if ended else cutoff.day
        moment = min(local_end_of(day, zone), cutoff.end)
        # 清零 needs a regulator's inspection: before the first one had been finished there is nothing to clear.
        meaningful = any(v.finished_at < moment for v in counting)
        plan.append((phase, "ended" if ended else "current", day, moment if meaningful else None))
    return plan


def phase_progress(
    scope: ReportScope,
    plan: list[PhasePlan],
    zone: tzinfo,
    counting: list[Visit],
    enterprise_unit: dict[Any, int | None],
    verdicts: dict[datetime, dict[Any, ClearanceAsOf]],
) -> list[PhaseProgress]:
    """Coverage and 清零 of each phase as the cut-off knows them (rules in the module docstring); ``verdicts``: 清零
    at each moment of ``plan``."""
    in_scope: dict[int | None, int] = defaultdict(int)
    for unit_id in enterprise_unit.values():
        in_scope[unit_id] += 1
    units = [u for u in scope.units if in_scope.get(u.id)]
    result: list[PhaseProgress] = []
    for phase, status, as_of, moment in plan:
        start, end = local_start_of(phase.starts_on, zone), local_end_of(phase.ends_on, zone)
        covered: dict[int | None, set[Any]] = defaultdict(set)
        for visit in counting:
            if start <= visit.finished_at < end:
                covered[enterprise_unit.get(visit.enterprise_id)].add(visit.enterprise_id)
        cleared: dict[int | None, int] | None = None
        if moment is not None and as_of is not None:
            cleared = defaultdict(int)
            for verdict in verdicts[moment].values():
                if verdict.verdict.cleared:
                    cleared[enterprise_unit.get(verdict.enterprise_id)] += 1
        per_unit = [
            PhaseUnit(u, in_scope.get(u.id, 0), len(covered.get(u.id, ())), None if cleared is None else cleared.get(u.id, 0))
            for u in units
        ]  # fmt: skip
        total = PhaseUnit(
            ReportUnit(0, "合计"),
            sum(p.in_scope for p in per_unit),
            sum(p.inspected for p in per_unit),
            None if cleared is None else sum(p.cleared or 0 for p in per_unit),
        )
        result.append(PhaseProgress(phase.code, phase.name, phase.starts_on, phase.ends_on, status, as_of, total,
                                    per_unit))  # fmt: skip
    return result
