"""自查核对: inspector findings against the enterprises' self-inspection ledgers, per county and per enterprise."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from server import clock
from server.caches import reconciliation_cache
from server.domain.reconciliation import (
    DESCRIPTION_ALONE_MIN,
    DESCRIPTION_MIN,
    PLACE_MIN,
    ItemVerdict,
    LedgerEntry,
    PairScore,
    PairVerdict,
    Reconciliation,
    TextCache,
    rank_for_pairing,
)
from server.domain.roles import SUPERVISOR_ROLES
from server.errors import (
    Problem,
    filter_invalid,
    page_number_invalid,
    reconciliation_pair_not_found,
    verdict_invalid,
)
from server.extensions import db
from server.i18n import tr
from server.models import Enterprise
from server.services import oversight
from server.services.reconciliation import (
    SORTS,
    PhaseWindow,
    confirm_all,
    decide,
    enterprise_decisions,
    key_items,
    reconcile_enterprise,
    reconcile_scope,
    resolve_phase,
)
from server.services.scope import visible_enterprises
from server.web.access import current_supervisor, supervisor_required
from server.web.forms import commit_or_errors, tr_problem

bp = Blueprint("reconciliation", __name__)

#: Rows of the county table per page.
PAGE_SIZE = 50


def phase_from_request(errors: list[str]) -> PhaseWindow | None:
    """The phase named by ``?phase=`` (or a form's ``phase``; an unknown code is reported in ``errors`` and the
    default used)."""
    user = current_supervisor()
    code = (request.form if request.method == "POST" else request.args).get("phase", "").strip() or None
    try:
        return resolve_phase(db.session, user, code, clock.today(), clock.zone())
    except Problem as unknown:  # phase_unknown
        errors.append(tr_problem(unknown))
        return resolve_phase(db.session, user, None, clock.today(), clock.zone())


def _page_number(errors: list[str]) -> int:
    raw = request.args.get("page", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        errors.append(tr_problem(page_number_invalid(name="page", value=raw)))
        return 1
    return int(raw)


def sort_labels() -> dict[str, str]:
    """The county table's orders (the keys of SORTS) named in the reader's language."""
    labels = {
        "reliability": ("可信度从低到高", "Least reliable first"),
        "confirmed": ("已确认可信度从低到高", "Least confirmed reliability first"),
        "awaiting": ("待确认最多", "Most awaiting confirmation"),
        "-reliability": ("可信度从高到低", "Most reliable first"),
        "missed": ("自查不到位最多", "Most missed"),
        "claimed": ("整改不实最多", "Most claimed fixed but still there"),
        "overstated": ("自评不实最多", "Most overstated self-assessments"),
        "overdue": ("逾期最多", "Most overdue"),
        "name": ("企业名称", "Name"),
    }
    return {key: tr(*labels[key]) if key in labels else key for key in SORTS}


@bp.route("/reconciliation")
@supervisor_required
def county() -> Any:
    """Every enterprise in scope: findings against its ledger, least reliable self-inspection first."""
    user = current_supervisor()
    errors: list[str] = []
    window = phase_from_request(errors)
    sort = request.args.get("sort", "").strip() or "reliability"
    if sort not in SORTS:
        errors.append(tr_problem(filter_invalid(label="排序", label_en="sort", value=sort)))
        sort = "reliability"
    number = _page_number(errors)
    result = None
    page = oversight.Page([], 0, 1, PAGE_SIZE)
    if window is not None:
        today, cache = clock.today(), reconciliation_cache()
        result = reconcile_scope(db.session, user, window, today, sort=sort, zone=clock.zone(), cache=cache)
        pages = max(1, -(-len(result.rows) // PAGE_SIZE))
        number = min(number, pages)
        rows = result.rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        page = oversight.Page(rows, len(result.rows), number, PAGE_SIZE)
    phases = list(window.campaign.phases) if window is not None else []
    query = urlencode([("phase", window.phase.code), ("sort", sort)] if window else [("sort", sort)])
    return render_template(
        "reconciliation.html", window=window, result=result, page=page, phases=phases, sort=sort, sorts=sort_labels(),
        errors=errors, query=query,
    ), (400 if errors else 200)  # fmt: skip


@bp.route("/enterprises/<uuid:enterprise_id>/reconciliation")
@supervisor_required
def enterprise(enterprise_id: uuid.UUID) -> Any:
    """One enterprise: matched pairs side by side, each category, and the self-assessment per key item."""
    errors: list[str] = []
    window = phase_from_request(errors)
    return _enterprise_page(enterprise_id, window, errors, [], 400 if errors else 200)


def _enterprise_page(
    enterprise_id: uuid.UUID, window: PhaseWindow | None, errors: list[str], refusals: list[str], status: int
) -> Any:
    user = current_supervisor()
    if window is None:
        # No campaign, so no phase to reconcile; the enterprise must still be in scope to say so.
        enterprise = db.session.scalar(
            visible_enterprises(db.session, user).where(Enterprise.id == enterprise_id)
        )
        if enterprise is None:
            abort(404)
        return render_template(
            "reconciliation_enterprise.html", window=None, row=None, name=enterprise.name, errors=errors,
            refusals=refusals,
        ), status  # fmt: skip
    row = reconcile_enterprise(db.session, user, enterprise_id, window, clock.today(), clock.zone())
    if row is None:
        abort(404)
    r = row.result
    return render_template(
        "reconciliation_enterprise.html", window=window, row=row, name=row.name, r=r, errors=errors,
        refusals=refusals, phases=list(window.campaign.phases), items=dict(key_items(db.session, clock.today())),
        later={m.finding.id: m for m in r.recorded_after}, verdicts=ItemVerdict,
        thresholds={"description": DESCRIPTION_MIN, "alone": DESCRIPTION_ALONE_MIN, "place": PLACE_MIN},
        decisions=enterprise_decisions(db.session, enterprise_id), may_decide=user.role in SUPERVISOR_ROLES,
        offered=_offered_by_hand(r),
        records={x.id: x for x in (*r.missed, *r.ledger_only, *(y for m in r.pairs for y in (m.finding, m.entry)))},
    ), status  # fmt: skip


def _offered_by_hand(r: Reconciliation) -> dict[Any, list[tuple[LedgerEntry, PairScore]]]:
    """For each missed finding, the unpaired ledger entries a supervisor may pair it with, most alike first."""
    free = [*r.ledger_only, *(m.entry for m in r.recorded_after if not m.confirmed)]
    cache = TextCache()
    return {f.id: rank_for_pairing(f, free, cache) for f in r.missed} if free else {}


def _uuid_field(name: str) -> uuid.UUID:
    """A record id posted by the form; the catalogue's 404 when it is not one."""
    try:
        return uuid.UUID(request.form.get(name, "").strip())
    except ValueError:
        raise reconciliation_pair_not_found() from None


def _after_decision(
    enterprise_id: uuid.UUID, window: PhaseWindow | None, errors: dict[str, str], code: int
) -> Any:
    if errors:
        return _enterprise_page(enterprise_id, window, [], list(errors.values()), code)
    phase = window.phase.code if window is not None else None
    return redirect(url_for("reconciliation.enterprise", enterprise_id=enterprise_id, phase=phase), 303)


@bp.route("/enterprises/<uuid:enterprise_id>/reconciliation/decisions", methods=["POST"])
@supervisor_required
def decision(enterprise_id: uuid.UUID) -> Any:
    """A supervisor's word on one pair: confirm it, say it is two hazards, pair by hand, or undo."""
    user = current_supervisor()
    window = phase_from_request([])
    if window is None:
        abort(404)
    raw = request.form.get("verdict", "").strip()
    if raw not in PairVerdict.__members__:
        return _after_decision(enterprise_id, window, {"": tr_problem(verdict_invalid(value=raw))}, 400)
    verdict = PairVerdict(raw)

    def change() -> Any:
        return decide(
            db.session, user, enterprise_id, _uuid_field("finding"), _uuid_field("entry"), verdict,
            request.form.get("reason"), window, clock.today(), clock.zone(),
        )  # fmt: skip

    _, errors, code = commit_or_errors(change)
    if code == 404:
        abort(404)
    if not errors:
        flash(_done(verdict), "reconciliation")
    return _after_decision(enterprise_id, window, errors, code)


def _done(verdict: PairVerdict) -> str:
    """What the page says after a decision was recorded."""
    if verdict is PairVerdict.same:
        return tr("已确认为同一隐患。", "Confirmed as one hazard.")
    if verdict is PairVerdict.different:
        return tr("已判定不是同一隐患。", "Marked as two hazards.")
    return tr("已撤销判定。", "The decision was undone.")


@bp.route("/enterprises/<uuid:enterprise_id>/reconciliation/confirm-all", methods=["POST"])
@supervisor_required
def confirm_all_pairs(enterprise_id: uuid.UUID) -> Any:
    """Confirm every pair the matcher proposes for the enterprise in the phase."""
    user = current_supervisor()
    window = phase_from_request([])
    if window is None:
        abort(404)
    done, errors, code = commit_or_errors(
        lambda: confirm_all(db.session, user, enterprise_id, window, clock.today(), clock.zone())
    )
    if code == 404:
        abort(404)
    if not errors:
        flash(
            tr("已确认 {n} 对建议配对。", "{n} proposed pairs confirmed.", n=len(done or [])),
            "reconciliation",
        )
    return _after_decision(enterprise_id, window, errors, code)
