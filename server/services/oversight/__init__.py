"""What supervisors watch: coverage per phase, 清零 per enterprise and sector, hazard counts, devices, lists.

Everything is computed with a few aggregate queries over the user's scope, never by loading every row:
the county has thousands of enterprises and hundreds of thousands of item results. Each section is its own
module; this package re-exports their public names.
"""

from __future__ import annotations

from server.services.oversight.clearance import (
    PATCH_LIMIT,
    CachedClearances,
    ClearanceCache,
    EnterpriseClearance,
    SectorClearance,
    all_clearances,
    changed_enterprises,
    clearance_by_sector,
    clearances,
    current_catalogue_id,
    latest_inspections,
    scope_clearances,
    sealed_answers_of,
    standings,
)
from server.services.oversight.coverage import (
    PhaseCoverage,
    campaign_for,
    counting_conditions,
    counting_inspections,
    coverage_by_phase,
    enterprise_ids_of,
    evidence_holds,
    inspected_in,
)
from server.services.oversight.dashboard import (
    Dashboard,
    DeviceRow,
    dashboard,
    devices_in_scope,
    quarantine_pending,
)
from server.services.oversight.hazard_figures import (
    AWAITING_ENTERPRISE,
    HazardFigures,
    Window,
    campaign_window,
    counted_hazards,
    hazard_figures,
    overdue_condition,
    recorded_for_good,
    recorded_for_good_by_row,
)
from server.services.oversight.lists import (
    PAGE_SIZE,
    EnterpriseFilters,
    HazardFilters,
    Page,
    enterprise_list,
    hazard_list,
    paged,
)

__all__ = [
    "AWAITING_ENTERPRISE",
    "PAGE_SIZE",
    "PATCH_LIMIT",
    "CachedClearances",
    "ClearanceCache",
    "Dashboard",
    "DeviceRow",
    "EnterpriseClearance",
    "EnterpriseFilters",
    "HazardFigures",
    "HazardFilters",
    "Page",
    "PhaseCoverage",
    "SectorClearance",
    "Window",
    "all_clearances",
    "campaign_for",
    "campaign_window",
    "changed_enterprises",
    "clearance_by_sector",
    "clearances",
    "counted_hazards",
    "counting_conditions",
    "counting_inspections",
    "coverage_by_phase",
    "current_catalogue_id",
    "dashboard",
    "devices_in_scope",
    "enterprise_ids_of",
    "enterprise_list",
    "evidence_holds",
    "hazard_figures",
    "hazard_list",
    "inspected_in",
    "latest_inspections",
    "overdue_condition",
    "paged",
    "quarantine_pending",
    "recorded_for_good",
    "recorded_for_good_by_row",
    "scope_clearances",
    "sealed_answers_of",
    "standings",
]
