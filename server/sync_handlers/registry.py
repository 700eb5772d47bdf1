"""Every entity handler the server registers (its own module, so that entities and the expert-opinion
handler built on it import in one direction only)."""

from __future__ import annotations

from typing import Any

from server.sync_handlers.entities import (
    AssignmentHandler,
    CatalogueHandler,
    ColleagueHandler,
    EnterpriseHandler,
    HazardEventHandler,
    HazardHandler,
    InspectionHandler,
    ItemResultHandler,
    LedgerEntryHandler,
    PhotoHandler,
    ReviewDecisionHandler,
)
from server.sync_handlers.expert_opinions import ExpertOpinionHandler


def all_handlers() -> list[Any]:
    """Every handler the server registers, reference data first."""
    return [EnterpriseHandler(), CatalogueHandler(), InspectionHandler(), ItemResultHandler(), HazardHandler(),
            LedgerEntryHandler(), HazardEventHandler(), PhotoHandler(), ReviewDecisionHandler(), AssignmentHandler(),
            ColleagueHandler(), ExpertOpinionHandler()]  # fmt: skip
