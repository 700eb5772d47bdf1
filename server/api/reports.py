"""The monthly progress report as JSON: the figures of /reports/monthly, as of the report's cut-off."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server import clock, job_kinds
from server.api.access import supervisor_user
from server.api.schemas import DecimalString, ProblemSchema
from server.errors import Problem
from server.extensions import db
from server.i18n import current_language
from server.services import progress_report
from server.services.progress_report import COLUMNS, ProgressReport, UnitFigures
from sync import problems

blp = Blueprint(
    "reports_api", __name__, url_prefix="/api/reports", description="Progress reports / 进展情况月报"
)


class ReportQuerySchema(Schema):
    """Which report: ``month=YYYY-MM`` (default: this month) or ``final=1`` for the final summary."""

    month = fields.String(load_default=None)
    final = fields.String(load_default=None)


class SourceSchema(Schema):
    """Hazards found and rectified from one source."""

    general = fields.Integer()
    major = fields.Integer()
    total = fields.Integer()
    rectified = fields.Integer()


class UnitFiguresSchema(Schema):
    """One row of the form (a county, or the total): every figure as of the cut-off."""

    unit = fields.String()
    groups = fields.Integer()
    inspectors = fields.Integer()
    experts = fields.Integer()
    county_inspections = fields.Integer()
    city_inspections = fields.Integer()
    enterprises_covered = fields.Integer()
    enterprises_in_scope = fields.Integer()
    coverage_rate = fields.Float(allow_none=True, metadata={"description": "percent"})
    cleared = fields.Integer()
    self_inspected = fields.Integer()
    hazards = fields.Integer()
    hazards_general = fields.Integer()
    hazards_major = fields.Integer()
    rectified = fields.Integer()
    rectified_general = fields.Integer()
    rectified_major = fields.Integer()
    rectification_rate = fields.Float(allow_none=True, metadata={"description": "percent"})
    funds_yuan = DecimalString()
    funds_wan = DecimalString(metadata={"description": "万元, two decimals"})
    overdue = fields.Integer()
    listed = fields.Integer()
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(SourceSchema))


class MajorHazardSchema(Schema):
    """One line of the itemised list of major hazards."""

    serial = fields.Integer()
    hazard_id = fields.UUID()
    unit = fields.String()
    enterprise = fields.String()
    description = fields.String()
    place = fields.String()
    source = fields.String()
    found_on = fields.Date()
    measures = fields.String()
    responsible_person = fields.String()
    deadline = fields.Date(allow_none=True)
    state = fields.String()
    progress = fields.String()
    overdue = fields.Boolean()
    supervision = fields.String()
    funds_yuan = DecimalString(allow_none=True)
    funds_wan = DecimalString(allow_none=True, metadata={"description": "funds in 万元"})


class PhaseUnitSchema(Schema):
    """One row's coverage and 清零 in a phase (cleared null: not meaningful yet)."""

    unit = fields.String()
    in_scope = fields.Integer()
    inspected = fields.Integer()
    cleared = fields.Integer(allow_none=True)


class PhaseSchema(Schema):
    """A campaign phase's coverage and 清零 as the cut-off knows them."""

    code = fields.String()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    status = fields.String()
    as_of = fields.Date(allow_none=True)
    total = fields.Nested(PhaseUnitSchema)
    units = fields.List(fields.Nested(PhaseUnitSchema))


class ReportSchema(Schema):
    """The report: who filed it, as of when, the form's rows, the list of major hazards and the phases."""

    period = fields.String(metadata={"description": "YYYY-MM, or 'final'"})
    final = fields.Boolean()
    title = fields.String(metadata={"description": "the attachment's own title, word for word"})
    period_label = fields.String(metadata={"description": "the period line printed under the title"})
    as_of = fields.Date(allow_none=True, metadata={"description": "the day overdue is counted on"})
    before_campaign = fields.Integer(
        metadata={"description": "hazards found before the campaign: not counted"}
    )
    cutoff_day = fields.Date()
    cutoff_at = fields.DateTime(metadata={"description": "records must be strictly before this instant"})
    provisional = fields.Boolean()
    campaign = fields.String(allow_none=True)
    phase_at_cutoff = fields.String(allow_none=True)
    unit_name = fields.String()
    filled_by = fields.String()
    phone = fields.String()
    filled_on = fields.Date()
    scope = fields.String()
    columns = fields.List(fields.Dict())
    rows = fields.List(fields.Nested(UnitFiguresSchema))
    total = fields.Nested(UnitFiguresSchema)
    majors = fields.List(fields.Nested(MajorHazardSchema))
    phases = fields.List(fields.Nested(PhaseSchema))
    counted_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when stale figures were counted (null when they are current)"},
    )
    stale = fields.Boolean(
        metadata={
            "description": "something was written since they were counted: they are being counted again"
        }
    )
    stale_notice = fields.String(
        allow_none=True, metadata={"description": "what the page says over stale figures"}
    )


def _figures(f: UnitFigures) -> dict[str, Any]:
    names = [name for name in UnitFiguresSchema().fields if name not in ("unit", "by_source")]
    data = {name: getattr(f, name) for name in names}
    data["unit"] = f.unit.name
    data["by_source"] = {
        key: {"general": s.general, "major": s.major, "total": s.total, "rectified": s.rectified}
        for key, s in f.by_source.items()
    }
    return data


def report_data(r: ProgressReport) -> dict[str, Any]:
    """The report as the schema dumps it."""

    def unit(p: Any) -> dict[str, Any]:
        return {"unit": p.unit.name, "in_scope": p.in_scope, "inspected": p.inspected, "cleared": p.cleared}

    return {
        "period": r.cutoff.param, "final": r.cutoff.final, "title": r.title, "period_label": r.period,
        "as_of": r.as_of, "before_campaign": r.before_campaign, "cutoff_day": r.cutoff.day,
        "cutoff_at": r.cutoff.end, "provisional": r.provisional, "campaign": r.campaign_name,
        "phase_at_cutoff": r.phase_at_cutoff, "unit_name": r.unit_name, "filled_by": r.filled_by, "phone": r.phone,
        "filled_on": r.filled_on, "scope": r.scope_name,
        "columns": [{"key": key, "label": label, "label_en": en, "kind": kind} for key, label, en, kind in COLUMNS],
        "rows": [_figures(f) for f in r.rows], "total": _figures(r.total),
        "majors": [
            {**{k: getattr(m, k) for k in MajorHazardSchema().fields if k not in ("state", "progress")},
             "state": m.state.value, "progress": m.progress}
            for m in r.majors
        ],
        "phases": [
            {"code": p.code, "name": p.name, "starts_on": p.starts_on, "ends_on": p.ends_on, "status": p.status,
             "as_of": p.as_of, "total": unit(p.total), "units": [unit(u) for u in p.units]}
            for p in r.phases
        ],
    }  # fmt: skip


@blp.route("/monthly", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ReportSchema)
@blp.alt_response(400, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
def monthly(args: dict[str, Any]) -> dict[str, Any]:
    """The monthly progress report (or the final summary) in the caller's scope, as of its cut-off.

    For supervisors, city supervisors and admins (404 for everyone else). A county supervisor gets their county,
    the city supervisor a row per county and the total.
    """

    user = supervisor_user()
    try:
        period = progress_report.parse_period(args.get("month"), args.get("final"), clock.today())
    except Problem as error:  # the period's own problem, named as the request's invalid field (code 400.2)
        raise problems.invalid_fields(fields=f"month: {error.message(current_language())}") from None
    del period  # checked here for the request's own problem; counted (or shown stale) by report_for_page
    report = job_kinds.report_for_page(db.session, user, args.get("month"), args.get("final"))
    return {**report_data(report), "counted_at": report.counted_at if report.stale else None, "stale": report.stale,
            "stale_notice": job_kinds.stale_notice(report) or None}  # fmt: skip
