"""行政执法公示: the enforcement decisions the public may see. Only decisions that were issued (final) are listed,
each with what the publicity rules ask (who it concerns, when, what kind, on which legal basis, whether it still
stands) and nothing else: no photos, no names or phone numbers of people, no reasons or hazard texts that could
carry them, and nothing of an inspection or order still in draft or review.

Two kinds of decision: the 停产整顿指令书 once issued (after its legal review), and the 责令限期整改指令书 an
inspection gave on site, published only once that inspection is final: approved by a supervisor AND its device
seal verified (an inspection whose evidence did not verify is never made public, even if approved)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import sqlalchemy as sa

from server.documents.records import DocKind, document_header, zh_date
from server.domain.hazards import OPEN_STATES
from server.domain.inspections import InspectionKind, InspectionStatus
from server.domain.stop_orders import PUBLIC_STATES, OrderState
from server.models import Hazard, Inspection, StopOrder
from server.services import DbSession

DECISION_STOP_ZH = "责令停产整顿"
DECISION_RECTIFY_ZH = "责令限期整改"
#: What a 责令限期整改指令书 rests on (server.documents.records.order_paragraphs prints the same).
RECTIFY_BASIS = "《中华人民共和国安全生产法》第六十五条第一款第（二）项、第（三）项"


@dataclass(frozen=True)
class PublicDecision:
    """One row of the public list."""

    number: str
    enterprise_name: str
    credit_code: str
    issued_on: str
    decision_zh: str
    legal_basis: str
    status_zh: str


def decisions(
    session: DbSession, zone: tzinfo, default_authority: str = "应急管理局"
) -> list[PublicDecision]:
    """Every issued decision: stop-production orders first (newest first, as frozen when issued), then the orders
    to rectify of final inspections (newest first)."""
    return _stop_orders(session) + _rectification_orders(session, zone, default_authority)


def _stop_orders(session: DbSession) -> list[PublicDecision]:
    orders = session.scalars(
        sa.select(StopOrder)
        .where(StopOrder.state.in_(list(PUBLIC_STATES)), StopOrder.issued_content.is_not(None))
        .order_by(StopOrder.issued_at.desc())
    )
    rows = []
    for order in orders:
        content = order.issued_content or {}
        status = "已复产验收" if order.state is OrderState.resumed else "停产整顿中"
        rows.append(PublicDecision(
            number=str(content.get("number", "")), enterprise_name=str(content.get("enterprise_name", "")),
            credit_code=str(content.get("credit_code", "")), issued_on=str(content.get("issued_on", "")),
            decision_zh=DECISION_STOP_ZH, legal_basis=str(content.get("legal_basis", "")), status_zh=status,
        ))  # fmt: skip
    return rows


def _rectification_orders(session: DbSession, zone: tzinfo, default_authority: str) -> list[PublicDecision]:
    """责令限期整改 of approved, seal-verified regulator inspections that found hazards."""
    inspections = session.scalars(
        sa.select(Inspection).where(
            Inspection.status == InspectionStatus.approved, Inspection.seal_verified.is_(True),
            Inspection.deleted_at.is_(None), Inspection.kind != InspectionKind.self_check,
            sa.exists().where(Hazard.inspection_id == Inspection.id, Hazard.deleted_at.is_(None)),
        ).order_by(Inspection.finished_at.desc())
    ).all()  # fmt: skip
    rows = []
    for inspection in inspections:
        states = session.scalars(
            sa.select(Hazard.state).where(Hazard.inspection_id == inspection.id, Hazard.deleted_at.is_(None))
        ).all()
        done = all(state not in OPEN_STATES for state in states)
        issued = inspection.finished_at or inspection.received_at
        rows.append(PublicDecision(
            number=document_header(inspection, default_authority).number(DocKind.order),
            enterprise_name=inspection.enterprise.name, credit_code=inspection.enterprise.credit_code,
            issued_on=zh_date(issued.astimezone(zone).date()), decision_zh=DECISION_RECTIFY_ZH,
            legal_basis=RECTIFY_BASIS, status_zh="已整改" if done else "整改中",
        ))  # fmt: skip
    return rows
