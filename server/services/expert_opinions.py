"""Expert opinions as supervisors and documents see them: each with whether it is sealed with its inspection
(server.domain.expert_opinions) and its list's links resolved to the inspection's items and hazards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from server.domain.expert_opinions import OpinionSeal, comparable, seal_status
from server.models import ExpertOpinion, Hazard, Inspection
from server.services import DbSession


@dataclass(frozen=True)
class OpinionView:
    """An opinion, its seal and its lines (each with the hazard's description when it names one)."""

    row: ExpertOpinion
    seal: OpinionSeal
    lines: list[dict[str, Any]]


def stored_comparable(row: ExpertOpinion) -> dict[str, Any]:
    """The stored opinion in the form the seal is compared in."""
    return comparable(row.expert_name, row.opinion, row.items or [], (row.signature or {}).get("sha256"))


def opinions_for(session: DbSession, inspection: Inspection) -> list[OpinionView]:
    """The inspection's opinions (not deleted), oldest first."""
    rows = session.scalars(
        sa.select(ExpertOpinion).where(ExpertOpinion.inspection_id == inspection.id, ExpertOpinion.deleted_at.is_(None))
        .order_by(ExpertOpinion.received_at, ExpertOpinion.id)
    ).all()  # fmt: skip
    hazards = {
        str(h.id): h for h in session.scalars(sa.select(Hazard).where(Hazard.inspection_id == inspection.id))
    }
    views = []
    for row in rows:
        seal = seal_status(
            inspection.sealed_record, inspection.seal_verified, str(row.id), stored_comparable(row)
        )
        lines = [{**item, "hazard": hazards.get(item.get("hazard_id") or "")} for item in row.items or []]
        views.append(OpinionView(row, seal, lines))
    return views
