"""Every entity handler the server registers (its own module, so that the entity modules and the expert-opinion
handler built on them import in one direction only)."""

from __future__ import annotations

from typing import Any

from server.sync_handlers.expert_opinions import ExpertOpinionHandler
from server.sync_handlers.hazards import HazardEventHandler, HazardHandler, LedgerEntryHandler
from server.sync_handlers.inspections import InspectionHandler, ItemResultHandler
from server.sync_handlers.photos import PhotoHandler
from server.sync_handlers.reference import (
    AssignmentHandler,
    CatalogueHandler,
    ColleagueHandler,
    EnterpriseHandler,
    ReviewDecisionHandler,
)


def all_handlers() -> list[Any]:
    """Every handler the server registers, reference data first."""
    return [EnterpriseHandler(), CatalogueHandler(), InspectionHandler(), ItemResultHandler(), HazardHandler(),
            LedgerEntryHandler(), HazardEventHandler(), PhotoHandler(), ReviewDecisionHandler(), AssignmentHandler(),
            ColleagueHandler(), ExpertOpinionHandler()]  # fmt: skip
