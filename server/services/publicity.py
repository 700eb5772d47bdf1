"""行政执法公示: the enforcement decisions the public may see. Only decisions that were issued (final) are listed,
each with what the publicity rules ask (who it concerns, when, what kind, on which legal basis, whether it still
stands) and nothing else: no photos, no names or phone numbers of people, no reasons or hazard texts that could
carry them, and nothing of an inspection or order still in draft or review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import sqlalchemy as sa

from server.domain.stop_orders import PUBLIC_STATES, OrderState
from server.models import StopOrder
from server.services import DbSession

DECISION_STOP_ZH = "责令停产整顿"


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


def decisions(session: DbSession, zone: tzinfo) -> list[PublicDecision]:
    """Every issued decision, newest first, as frozen when it was issued (a later edit cannot change it)."""
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
