"""双随机抽查 pages: the city's draws and a form to make one (city supervisors and admins only)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from server import clock
from server.domain.sampling import MIN_SHARE_PERCENT
from server.errors import Problem, seed_not_typed
from server.extensions import db
from server.i18n import current_language
from server.models import SamplingDraw
from server.services import oversight, sampling
from server.web.access import current_supervisor, supervisor_required

bp = Blueprint("sampling", __name__)


def _city_user() -> Any:
    """The signed-in city supervisor or admin; anyone else gets 404 (the pages are not revealed)."""
    user = current_supervisor()
    if not sampling.may_draw(user):
        abort(404)
    return user


@bp.route("/sampling", methods=["GET", "POST"])
@supervisor_required
def draw_list() -> Any:
    """The draws in scope and the form for a new draw; POST draws and shows the new draw."""
    user = _city_user()
    campaign = oversight.campaign_for(db.session, user)
    error = None
    form: dict[str, Any] = {
        "percent": request.form.get("percent", ""),
        "stratify": request.form.get("stratify", "") in ("1", "on"),
        "reason": request.form.get("reason", ""),
        "confirm": request.form.get("confirm", "") in ("1", "on"),
    }
    zone = clock.zone()
    if request.method == "POST":
        try:
            if request.form.get("seed", "").strip():
                # The seed comes from the cryptographic random source only: a typed one could steer the draw.
                raise seed_not_typed()
            row = sampling.make_draw(
                db.session, user, form["percent"], bool(form["stratify"]), today=clock.today(zone), tz=zone,
                redraw_reason=form["reason"], confirmed=bool(form["confirm"]),
            )  # fmt: skip
        except Problem as refused:
            db.session.rollback()
            error = refused.message(current_language())
        else:
            db.session.commit()
            return redirect(url_for("sampling.draw_page", draw_id=row.id))
    draws = db.session.scalars(sampling.visible_draws(db.session, user)).all()
    phase = campaign.phase_on(clock.today(zone)) if campaign else None
    official = (
        sampling.official_draw(db.session, campaign, phase.code if phase else None) if campaign else None
    )
    return render_template(
        "sampling.html", draws=draws, campaign=campaign, error=error, form=form, phase=phase, official=official,
        default_percent=sampling.parse_percent(None, campaign) if campaign else MIN_SHARE_PERCENT,
        replaced={d.notes.get("replaces") for d in draws if d.notes.get("replaces")}, draw_phase=sampling.draw_phase,
    ), (400 if error else 200)  # fmt: skip


@bp.route("/sampling/<uuid:draw_id>")
@supervisor_required
def draw_page(draw_id: uuid.UUID) -> Any:
    """One draw: its seed, sizes, strata, the enterprises with their inspectors, and the reproduction check."""
    user = _city_user()
    row: SamplingDraw | None = db.session.scalar(
        sampling.visible_draws(db.session, user).where(SamplingDraw.id == draw_id)
    )
    if row is None:
        abort(404)
    enterprises = sampling.drawn_enterprises(db.session, row)
    strata = [
        (sampling.stratum_label(key), population, sample) for key, population, sample in row.notes["strata"]
    ]
    return render_template(
        "sampling_draw.html", d=row, enterprises=enterprises, strata=strata, reproduces=sampling.reproduces(row),
        fallbacks=sum(1 for e in enterprises if e.fallback),
    )  # fmt: skip
