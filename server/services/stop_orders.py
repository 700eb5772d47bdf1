"""停产整顿指令书 (notice 五（三）): a supervisor drafts the order for an enterprise with a major hazard, a legal reviewer
approves it or returns it with comments (重大执法决定法制审核), only an approved order is issued (numbered, its
printed content frozen and hashed for the /d/ check), and the resumption check (复产验收) closes it. The states are
server.domain.stop_orders'; every step is one audit row in the same transaction."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

import sqlalchemy as sa

from server.documents.records import authority_prefix, zh_date
from server.domain.hazards import HazardLevel
from server.domain.roles import Role
from server.domain.stop_orders import IllegalOrderStep, OrderAction, OrderState, next_state
from server.errors import (
    Problem,
    enterprise_unknown,
    field_required,
    field_too_many_chars,
    refuse_fields,
    stop_order_hazard_foreign,
    stop_order_hazard_missing,
    stop_order_step_illegal,
)
from server.models import AuditEvent, ChangeCounter, Enterprise, Hazard, StopOrder, User
from server.models.base import utcnow
from server.services import DbSession, audit
from server.services.scope import visible_enterprise_ids, visible_enterprises
from sync.protocol import canonical_json

#: Roles that see stop-production orders (drafters, and the legal reviewers who check them).
ORDER_ROLES = frozenset({Role.supervisor, Role.city_supervisor, Role.admin, Role.legal_reviewer})
#: Roles that draft, issue and close orders.
DRAFTER_ROLES = frozenset({Role.supervisor, Role.city_supervisor, Role.admin})
#: The law an order usually rests on (a suggestion in the draft form; the drafter states the basis).
DEFAULT_LEGAL_BASIS = (
    "《中华人民共和国安全生产法》第六十五条第一款第（三）项、第一百零二条；《工贸企业重大事故隐患判定标准》"
)
#: The document's code in its number: 兴应急停整〔2026〕001号.
NUMBER_CODE = "停整"
NAME_ZH = "停产整顿指令书"
TEXT_FIELDS = {
    "reasons": "停产整顿的事实和理由", "legal_basis": "法律依据", "scope": "停产整顿范围",
    "resume_conditions": "恢复生产的条件",
}  # fmt: skip
TEXT_FIELDS_EN = {
    "reasons": "The facts and reasons", "legal_basis": "The legal basis", "scope": "The scope of the stop",
    "resume_conditions": "The conditions to resume production",
}  # fmt: skip


def visible_orders(session: DbSession, user: User) -> sa.Select[StopOrder]:
    """Orders of enterprises in ``user``'s scope (none for roles outside ORDER_ROLES)."""
    query = sa.select(StopOrder)
    if user.role not in ORDER_ROLES:
        return query.where(sa.false())
    return query.where(StopOrder.enterprise_id.in_(visible_enterprise_ids(session, user)))


def find_order(session: DbSession, user: User, order_id: uuid.UUID) -> StopOrder | None:
    """The order if ``user`` may see it."""
    return session.scalar(visible_orders(session, user).where(StopOrder.id == order_id))


def major_hazards(session: DbSession, enterprise_id: uuid.UUID) -> list[Hazard]:
    """The enterprise's major hazards an order can rest on (not deleted)."""
    return list(session.scalars(
        sa.select(Hazard).where(Hazard.enterprise_id == enterprise_id, Hazard.level == HazardLevel.major,
                                Hazard.deleted_at.is_(None)).order_by(Hazard.found_at)
    ))  # fmt: skip


def _content(
    form: Mapping[str, Any], session: DbSession, enterprise_id: uuid.UUID
) -> tuple[dict[str, str], list[Hazard]]:
    """The order's texts and linked hazards from a form; FormProblems naming every missing or unknown one."""
    errors: dict[str, Problem] = {}
    texts: dict[str, str] = {}
    for key, label in TEXT_FIELDS.items():
        value = str(form.get(key, "")).strip()
        if not value:
            errors[key] = field_required(label=label, label_en=TEXT_FIELDS_EN[key])
        elif len(value) > 4000:
            errors[key] = field_too_many_chars(label=label, label_en=TEXT_FIELDS_EN[key], limit=4000)
        texts[key] = value
    wanted = {
        str(v)
        for v in (form.getlist("hazard_ids") if hasattr(form, "getlist") else form.get("hazard_ids", []))
    }
    allowed = {str(h.id): h for h in major_hazards(session, enterprise_id)}
    unknown = wanted - set(allowed)
    if unknown:
        errors["hazard_ids"] = stop_order_hazard_foreign()
    if not wanted:
        errors["hazard_ids"] = stop_order_hazard_missing()
    refuse_fields(errors)
    return texts, [allowed[h] for h in sorted(wanted)]


def draft(session: DbSession, actor: User, enterprise_id: uuid.UUID, form: Mapping[str, Any]) -> StopOrder:
    """A new draft for an enterprise in the actor's scope (audited); FormProblems on bad input. Caller commits."""
    if actor.role not in DRAFTER_ROLES:
        raise stop_order_step_illegal(why_zh="只有监管人员可以起草", why_en="only supervisors draft orders")
    enterprise = session.scalar(visible_enterprises(session, actor).where(Enterprise.id == enterprise_id))
    if enterprise is None:
        raise enterprise_unknown()
    texts, hazards = _content(form, session, enterprise.id)
    order = StopOrder(id=uuid.uuid4(), enterprise_id=enterprise.id, drafted_by_id=actor.id, state=OrderState.draft,
                      hazards=hazards, **texts)  # fmt: skip
    session.add(order)
    session.flush()
    audit.record(session, actor, "stop_order.drafted", "stop_order", order.id,
                 {**texts, "hazards": [str(h.id) for h in hazards]})  # fmt: skip
    return order


def edit(session: DbSession, actor: User, order: StopOrder, form: Mapping[str, Any]) -> None:
    """Change a draft or a returned order (audited); an order under review or approved cannot change."""
    if not order.state.editable or actor.role == Role.legal_reviewer:
        raise stop_order_step_illegal(why_zh=f"“{order.state.label_zh}”的指令书不能修改",
                                      why_en=f"an order that is '{order.state.value}' cannot be edited")  # fmt: skip
    texts, hazards = _content(form, session, order.enterprise_id)
    for key, value in texts.items():
        setattr(order, key, value)
    order.hazards = hazards
    session.flush()
    audit.record(session, actor, "stop_order.edited", "stop_order", order.id,
                 {**texts, "hazards": [str(h.id) for h in hazards]})  # fmt: skip


def act(
    session: DbSession, actor: User, order: StopOrder, action: OrderAction, comment: str, *,
    default_authority: str, zone: tzinfo,
) -> None:  # fmt: skip
    """Take one step of the order's life (server.domain.stop_orders decides whether it may be taken); audited.
    Issuing numbers the order and freezes what it prints. The caller commits."""
    try:
        target = next_state(order.state, action, actor.role, comment)
    except IllegalOrderStep as illegal:
        raise stop_order_step_illegal(why_zh=illegal.why_zh, why_en=illegal.why_en) from None
    now = utcnow()
    note = comment.strip() or None
    if action in (OrderAction.approve, OrderAction.return_):
        order.reviewed_by_id, order.reviewed_at, order.review_comment = actor.id, now, note
    elif action is OrderAction.issue:
        order.issued_by_id, order.issued_at = actor.id, now
        order.number = _next_number(session, order, default_authority, now.astimezone(zone).year)
        order.issued_content = issued_content(order, default_authority, zone)
    elif action is OrderAction.resume:
        order.resumed_by_id, order.resumed_at, order.resume_comment = actor.id, now, note
    before = order.state
    order.state = target
    session.flush()
    audit.record(session, actor, f"stop_order.{action.value}", "stop_order", order.id,
                 {"from": before.value, "to": target.value, "comment": note, "number": order.number,
                  "sha256": content_sha256(order) if order.issued_content else None})  # fmt: skip


def authority_of(enterprise: Enterprise, default_authority: str) -> str:
    """The bureau that issues for the enterprise: the nearest region above it naming one."""
    region = next((r for r in enterprise.region.ancestors_and_self() if r.authority_name), None)
    return (region.authority_name if region else None) or default_authority


def _next_number(session: DbSession, order: StopOrder, default_authority: str, year: int) -> str:
    """The next serial of the issuing bureau's orders of ``year`` (numbers are never reused)."""
    # Serialised on the change counter's row, as the audit chain is, so two issues cannot take one number.
    session.execute(sa.select(ChangeCounter.id).where(ChangeCounter.id == 1).with_for_update())
    prefix = f"{authority_prefix(authority_of(order.enterprise, default_authority))}{NUMBER_CODE}〔{year}〕"
    taken = session.scalar(
        sa.select(sa.func.count()).select_from(StopOrder).where(StopOrder.number.like(f"{prefix}%"))
    )
    return f"{prefix}{(taken or 0) + 1:03d}号"


def issued_content(order: StopOrder, default_authority: str, zone: tzinfo) -> dict[str, Any]:
    """What the issued order prints, fixed at issue (the PDF and the /d/ check are made from this, never from
    rows that might change later)."""
    enterprise = order.enterprise
    assert order.issued_at is not None and order.number is not None
    return {
        "number": order.number, "authority": authority_of(enterprise, default_authority),
        "enterprise_name": enterprise.name, "credit_code": enterprise.credit_code, "address": enterprise.address or "",
        "reasons": order.reasons, "legal_basis": order.legal_basis, "scope": order.scope,
        "resume_conditions": order.resume_conditions,
        "hazards": [{"place": h.place or "", "description": h.description,
                     "found_on": zh_date(h.found_at.astimezone(zone).date())} for h in order.hazards],
        "issued_on": zh_date(order.issued_at.astimezone(zone).date()),
        "reviewed_on": zh_date(order.reviewed_at.astimezone(zone).date()) if order.reviewed_at else "",
    }  # fmt: skip


def content_sha256(order: StopOrder) -> str:
    """SHA-256 of the frozen content in canonical JSON (printed on the order and in its QR code)."""
    return hashlib.sha256(canonical_json(order.issued_content or {})).hexdigest()


def verify_path(order: StopOrder) -> str:
    """The public path that checks a printed order (what its QR code opens)."""
    return f"/d/stop/{order.id}/{content_sha256(order)}"


def public_order(session: DbSession, order_id: uuid.UUID) -> StopOrder | None:
    """An issued (or resumed) order, for the public checks; None for anything not issued."""
    order = session.get(StopOrder, order_id)
    return order if order is not None and order.issued_content is not None else None


def history(session: DbSession, order: StopOrder) -> list[AuditEvent]:
    """The order's audit rows, in order: every step, who took it and when."""
    query = sa.select(AuditEvent).where(
        AuditEvent.entity_type == "stop_order", AuditEvent.entity_id == str(order.id)
    )
    return list(session.scalars(query.order_by(AuditEvent.id)))
