"""停产整顿指令书 pages: supervisors draft, issue and close orders, legal reviewers approve or return them; the order
prints as a PDF with a QR code to its public /d/stop/ check; the public enforcement list (行政执法公示)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for

from server import clock, security
from server.documents.stop_order_pdf import render_stop_order
from server.domain.stop_orders import OrderAction, OrderState, allowed_actions
from server.extensions import db
from server.models import Enterprise, StopOrder
from server.services import publicity, stop_orders
from server.services.scope import visible_enterprises
from server.web.forms import commit_or_errors

bp = Blueprint("stop_orders", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def order_role_required(view: F) -> F:
    """Signed in (else the login page) and a supervisor or legal reviewer (else 404)."""

    @security.login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user.role not in stop_orders.ORDER_ROLES:
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _zone() -> ZoneInfo:
    return clock.zone()


def _authority() -> str:
    return str(current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局")


def _order(order_id: uuid.UUID) -> StopOrder:
    order = stop_orders.find_order(db.session, g.user, order_id)
    if order is None:
        abort(404)
    return order


@bp.route("/stop-orders")
@order_role_required
def order_list() -> Any:
    """Every order in scope, newest first; a legal reviewer's to-do (法制审核中) on top."""
    orders = db.session.scalars(
        stop_orders.visible_orders(db.session, g.user).order_by(StopOrder.created_at.desc())
    )
    rows = sorted(orders, key=lambda o: o.state is not OrderState.in_review)
    return render_template("stop_orders.html", orders=rows)


@bp.route("/stop-orders/new", methods=["GET", "POST"])
@order_role_required
def new_order() -> Any:
    """Draft an order for one enterprise (?enterprise=<id>), linking its major hazards (supervisors only)."""
    if g.user.role not in stop_orders.DRAFTER_ROLES:
        abort(404)
    try:
        enterprise_id = uuid.UUID(request.values.get("enterprise", ""))
    except ValueError:
        abort(404)
    enterprise = db.session.scalar(
        visible_enterprises(db.session, g.user).where(Enterprise.id == enterprise_id)
    )
    if enterprise is None:
        abort(404)
    errors: dict[str, str] = {}
    code = 200
    if request.method == "POST":
        order, errors, code = commit_or_errors(
            lambda: stop_orders.draft(db.session, g.user, enterprise.id, request.form)
        )
        if order is not None:
            return redirect(url_for("stop_orders.order_page", order_id=order.id), 303)
    values = request.form if request.method == "POST" else {"legal_basis": stop_orders.DEFAULT_LEGAL_BASIS}
    return render_template("stop_order_form.html", enterprise=enterprise, order=None, values=values, errors=errors,
                           hazards=stop_orders.major_hazards(db.session, enterprise.id),
                           chosen=set(request.form.getlist("hazard_ids"))), code  # fmt: skip


@bp.route("/stop-orders/<uuid:order_id>", methods=["GET", "POST"])
@order_role_required
def order_page(order_id: uuid.UUID) -> Any:
    """The order, its review and its history; the drafter edits it while it is a draft or returned."""
    order = _order(order_id)
    errors: dict[str, str] = {}
    code = 200
    if request.method == "POST":
        _, errors, code = commit_or_errors(lambda: stop_orders.edit(db.session, g.user, order, request.form))
        if not errors:
            return redirect(url_for("stop_orders.order_page", order_id=order.id), 303)
        order = _order(order_id)
    return _render(order, errors, code)


def _render(order: StopOrder, errors: dict[str, str], code: int) -> Any:
    history = stop_orders.history(db.session, order)
    return render_template(
        "stop_order.html", order=order, errors=errors, actions=allowed_actions(order.state, g.user.role),
        history=history, values=request.form if errors else {k: getattr(order, k) for k in stop_orders.TEXT_FIELDS},
        hazards=stop_orders.major_hazards(db.session, order.enterprise_id),
        chosen={str(h.id) for h in order.hazards},
        verify_path=stop_orders.verify_path(order) if order.issued_content else None,
    ), code  # fmt: skip


@bp.route("/stop-orders/<uuid:order_id>/<any(submit, approve, return, issue, resume, withdraw):action>",
          methods=["POST"])  # fmt: skip
@order_role_required
def order_action(order_id: uuid.UUID, action: str) -> Any:
    """One step: submit for legal review, approve, return with comments, issue, close by resumption, withdraw."""
    order = _order(order_id)
    _, errors, code = commit_or_errors(lambda: stop_orders.act(
        db.session, g.user, order, OrderAction(action), request.form.get("comment", ""),
        default_authority=_authority(), zone=_zone()))  # fmt: skip
    if errors:
        return _render(_order(order_id), errors, code)
    return redirect(url_for("stop_orders.order_page", order_id=order.id), 303)


@bp.route("/stop-orders/<uuid:order_id>/order.pdf")
@order_role_required
def order_pdf(order_id: uuid.UUID) -> Any:
    """The issued order as a PDF (404 before it is issued: nothing unissued is ever printed)."""
    order = _order(order_id)
    if order.issued_content is None:
        abort(404)
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    data, _, disposition = render_stop_order(order.issued_content, base + stop_orders.verify_path(order),
                                             stop_orders.content_sha256(order))  # fmt: skip
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/d/stop/<uuid:order_id>/<sha256>")
def verify(order_id: uuid.UUID, sha256: str) -> Any:
    """Whether a printed order is the one issued (public, like the other documents' check): its facts are shown
    only to whoever holds the genuine hash, which is printed on it."""
    order = stop_orders.public_order(db.session, order_id)
    genuine = order is not None and stop_orders.content_sha256(order) == sha256
    return public_check(render_template("stop_order_verify.html", order=order if genuine else None), genuine)


def public_check(html: str, genuine: bool) -> Response:
    """A public check's page: 404 unless genuine, always checked live (never cached) and kept out of search."""
    response = Response(html, 200 if genuine else 404)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/gongshi")
def public_list() -> Any:
    """行政执法公示: issued enforcement decisions, for anyone, without photos or personal data."""
    response = Response(
        render_template("publicity.html", rows=publicity.decisions(db.session, _zone(), _authority()))
    )
    # Always current: a decision closed by resumption must not stay "in force" in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response
