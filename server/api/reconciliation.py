"""自查核对 as JSON: inspector findings against self-inspection ledgers, per scope and per enterprise."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server import clock
from server.api.access import supervisor_user
from server.api.schemas import ProblemSchema
from server.caches import reconciliation_cache
from server.domain.reconciliation import Match, Reconciliation
from server.errors import Problem
from server.extensions import db
from server.i18n import current_language
from server.services.reconciliation import (
    SORTS,
    EnterpriseReconciliation,
    PhaseWindow,
    reconcile_enterprise,
    reconcile_scope,
    resolve_phase,
)
from sync import problems

blp = Blueprint(
    "reconciliation_api", __name__, url_prefix="/api", description="Self-inspection reconciliation / 自查核对"
)


class ReconciliationPhaseQuerySchema(Schema):
    """Which campaign phase (its code; default: the phase running today, else the latest begun)."""

    phase = fields.String(load_default=None)


class ReconciliationScopeQuerySchema(ReconciliationPhaseQuerySchema):
    """The phase, the order and the page of the scope's table."""

    sort = fields.String(load_default="reliability", validate=validate.OneOf(sorted(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000))


class ReconciliationPhaseSchema(Schema):
    """The campaign phase reconciled."""

    campaign = fields.String()
    code = fields.String()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()


class ReconciliationCountsSchema(Schema):
    """How many findings and entries fell in each category."""

    findings = fields.Integer()
    ledger_entries = fields.Integer()
    self_reported = fields.Integer()
    missed = fields.Integer()
    claimed_fixed_but_present = fields.Integer()
    recorded_after = fields.Integer()
    ledger_only = fields.Integer()
    overdue = fields.Integer()
    overstated_items = fields.Integer()
    differing_items = fields.Integer()
    reliability = fields.Float(allow_none=True)
    #: Self-reported findings whose pair a supervisor confirmed: the only ones a scored figure (自查可靠率) counts.
    confirmed_self_reported = fields.Integer()
    #: Proposed pairs no supervisor has confirmed yet (待确认).
    awaiting_confirmation = fields.Integer()
    confirmed_reliability = fields.Float(allow_none=True)


class ReconciliationSummarySchema(ReconciliationCountsSchema):
    """One enterprise's line of the scope's table."""

    enterprise_id = fields.UUID()
    name = fields.String()
    region = fields.String()


class ReconciliationTotalsSchema(ReconciliationCountsSchema):
    """The scope's figures summed over its enterprises."""

    enterprises = fields.Integer()
    with_data = fields.Integer()


class ReconciliationScopeSchema(Schema):
    """Every enterprise in scope with something to reconcile, ranked, one page of them."""

    phase = fields.Nested(ReconciliationPhaseSchema)
    sort = fields.String()
    totals = fields.Nested(ReconciliationTotalsSchema)
    items = fields.List(fields.Nested(ReconciliationSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class ReconciliationRecordSchema(Schema):
    """A finding or a ledger entry."""

    id = fields.String()
    item_code = fields.String(allow_none=True)
    place = fields.String(allow_none=True)
    description = fields.String()
    found_at = fields.DateTime()
    level = fields.String()
    state = fields.String()
    deadline = fields.Date(allow_none=True)


class ReconciliationFindingSchema(ReconciliationRecordSchema):
    """An inspector's finding."""

    inspection_id = fields.String(allow_none=True)


class ReconciliationLedgerEntrySchema(ReconciliationRecordSchema):
    """An entry of the enterprise's self-inspection ledger."""

    ledger_no = fields.String(allow_none=True)
    claimed_fixed_at = fields.DateTime(allow_none=True)


class ReconciliationSimilaritySchema(Schema):
    """How alike the two are (similarities in [0, 1]; place null when either has none)."""

    same_item = fields.Boolean()
    place = fields.Float(allow_none=True)
    description = fields.Float()
    score = fields.Float()


class ReconciliationPairSchema(Schema):
    """A finding matched with a ledger entry."""

    finding = fields.Nested(ReconciliationFindingSchema)
    entry = fields.Nested(ReconciliationLedgerEntrySchema)
    similarity = fields.Nested(ReconciliationSimilaritySchema)
    #: True when a supervisor said they are one hazard; False for the matcher's proposal.
    confirmed = fields.Boolean()


class ReconciliationOverdueSchema(Schema):
    """A finding or ledger entry past its deadline."""

    source = fields.String(metadata={"description": "finding or ledger_entry"})
    id = fields.String()
    deadline = fields.Date()
    days = fields.Integer()


class ReconciliationItemSchema(Schema):
    """One key item: self-assessment, inspector's result and verdict (agree, overstated, differ, incomplete)."""

    code = fields.String()
    self_result = fields.String(allow_none=True)
    inspector_result = fields.String(allow_none=True)
    verdict = fields.String()


class ReconciliationEnterpriseSchema(Schema):
    """One enterprise's reconciliation for the phase."""

    enterprise_id = fields.UUID()
    name = fields.String()
    region = fields.String()
    phase = fields.Nested(ReconciliationPhaseSchema)
    counts = fields.Nested(ReconciliationCountsSchema)
    self_reported = fields.List(fields.Nested(ReconciliationPairSchema))
    claimed_fixed_but_present = fields.List(fields.Nested(ReconciliationPairSchema))
    missed = fields.List(fields.Nested(ReconciliationFindingSchema))
    recorded_after = fields.List(fields.Nested(ReconciliationPairSchema))
    ledger_only = fields.List(fields.Nested(ReconciliationLedgerEntrySchema))
    overdue = fields.List(fields.Nested(ReconciliationOverdueSchema))
    items = fields.List(fields.Nested(ReconciliationItemSchema))
    self_inspection_id = fields.UUID(allow_none=True)
    inspection_id = fields.UUID(allow_none=True)


def _today() -> Any:

    return clock.today()


def _window(code: str | None) -> PhaseWindow:

    user = supervisor_user()
    try:
        window = resolve_phase(db.session, user, code, _today(), clock.zone())
    except Problem as unknown:  # phase_unknown, named as the request's invalid field (400.2)
        raise problems.invalid_fields(fields=f"phase: {unknown.message(current_language())}") from None
    if window is None:
        raise problems.not_found()
    return window


def _phase(window: PhaseWindow) -> dict[str, Any]:
    p = window.phase
    return {"campaign": window.campaign.name, "code": p.code, "name": p.name, "starts_on": p.starts_on,
            "ends_on": p.ends_on}  # fmt: skip


def _counts(r: Reconciliation) -> dict[str, Any]:
    return {
        "findings": r.findings, "ledger_entries": r.entries, "self_reported": len(r.self_reported),
        "missed": len(r.missed), "claimed_fixed_but_present": len(r.claimed_fixed_but_present),
        "recorded_after": len(r.recorded_after), "ledger_only": len(r.ledger_only), "overdue": len(r.overdue),
        "overstated_items": r.overstated_items, "differing_items": r.differing_items, "reliability": r.reliability,
        "confirmed_self_reported": r.confirmed_self_reported, "awaiting_confirmation": r.awaiting_confirmation,
        "confirmed_reliability": r.confirmed_reliability,
    }  # fmt: skip


@blp.route("/reconciliation", methods=["GET"])
@blp.arguments(ReconciliationScopeQuerySchema, location="query")
@blp.response(200, ReconciliationScopeSchema)
@blp.alt_response(404, schema=ProblemSchema)
def scope_reconciliation(args: dict[str, Any]) -> dict[str, Any]:
    """Every enterprise in the caller's scope with findings, ledger entries or a self-assessment in the phase,
    least reliable self-inspection first (or as ``sort`` says); 404 when no campaign phase is set up."""

    window = _window(args["phase"])
    result = reconcile_scope(
        db.session, supervisor_user(), window, _today(), sort=args["sort"], zone=clock.zone(),
        cache=reconciliation_cache(),
    )  # fmt: skip
    size, page = args["per_page"], args["page"]
    rows = result.rows[(page - 1) * size : page * size]
    t = result.totals
    return {
        "phase": _phase(window), "sort": args["sort"],
        "totals": {
            "enterprises": t.enterprises, "with_data": t.with_data, "findings": t.findings,
            "ledger_entries": t.ledger_entries, "self_reported": t.self_reported, "missed": t.missed,
            "claimed_fixed_but_present": t.claimed_fixed_but_present, "recorded_after": t.recorded_after,
            "ledger_only": t.ledger_only, "overdue": t.overdue, "overstated_items": t.overstated_items,
            "differing_items": t.differing_items, "reliability": t.reliability,
            "confirmed_self_reported": t.confirmed_self_reported, "awaiting_confirmation": t.awaiting_confirmation,
            "confirmed_reliability": t.confirmed_reliability,
        },
        "items": [{"enterprise_id": row.enterprise_id, "name": row.name, "region": row.region, **_counts(row.result)}
                  for row in rows],
        "total": len(result.rows), "page": page, "pages": max(1, -(-len(result.rows) // size)),
    }  # fmt: skip


def _pair(m: Match) -> dict[str, Any]:
    return {"finding": m.finding, "entry": m.entry, "similarity": m.similarity, "confirmed": m.confirmed}


def _enterprise(row: EnterpriseReconciliation, window: PhaseWindow) -> dict[str, Any]:
    r = row.result
    return {
        "enterprise_id": row.enterprise_id, "name": row.name, "region": row.region, "phase": _phase(window),
        "counts": _counts(r), "self_reported": [_pair(m) for m in r.self_reported],
        "claimed_fixed_but_present": [_pair(m) for m in r.claimed_fixed_but_present], "missed": list(r.missed),
        "recorded_after": [_pair(m) for m in r.recorded_after], "ledger_only": list(r.ledger_only),
        "overdue": [{"source": "finding" if o.is_finding else "ledger_entry", "id": o.record.id,
                     "deadline": o.record.deadline, "days": o.days} for o in r.overdue],
        "items": [{"code": i.code, "self_result": i.self_result, "inspector_result": i.inspector_result,
                   "verdict": i.verdict} for i in r.items],
        "self_inspection_id": row.self_inspection_id, "inspection_id": row.inspection_id,
    }  # fmt: skip


@blp.route("/enterprises/<uuid:enterprise_id>/reconciliation", methods=["GET"])
@blp.arguments(ReconciliationPhaseQuerySchema, location="query")
@blp.response(200, ReconciliationEnterpriseSchema)
@blp.alt_response(404, schema=ProblemSchema)
def enterprise_reconciliation(args: dict[str, Any], enterprise_id: uuid.UUID) -> dict[str, Any]:
    """One enterprise's findings against its ledger for the phase, matched pairs with their similarity, and
    its self-assessment per key item; 404 outside the caller's scope."""

    user = supervisor_user()
    window = _window(args["phase"])
    row = reconcile_enterprise(db.session, user, enterprise_id, window, _today(), clock.zone())
    if row is None:
        raise problems.not_found()
    return _enterprise(row, window)
