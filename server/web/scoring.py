"""The city's 打分排队 and 通报 of its counties: a page, an XLSX and JSON for a report period, each score shown with
the figures it rests on and links to the pages they come from; the admin edits the weights."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from server import clock
from server.caches import reconciliation_cache, report_cache
from server.errors import Problem
from server.extensions import db
from server.i18n import current_language
from server.models import Campaign
from server.services import progress_report, scoring
from server.web.access import current_supervisor, supervisor_required
from server.web.forms import commit_or_errors
from server.web.reports import admin_required, xlsx_response

bp = Blueprint("scoring", __name__)


def _board() -> scoring.Scoreboard:
    try:
        period = progress_report.parse_period(
            request.args.get("month"), request.args.get("final"), clock.today()
        )
    except Problem as error:
        abort(400, error.message(current_language()))
    zone = clock.zone()
    return scoring.scoreboard(
        db.session,
        current_supervisor(),
        period,
        zone=zone,
        cache=reconciliation_cache(),
        report_cache=report_cache(),
    )


@bp.route("/scoring")
@supervisor_required
def page() -> Any:
    """The ranking for ?month=YYYY-MM (or ?final=1), this month by default."""
    return render_template("scoring.html", b=_board())


@bp.route("/scoring.json")
@supervisor_required
def as_json() -> Any:
    """The ranking with every figure behind each score."""
    return jsonify(scoring.as_json(_board()))


@bp.route("/scoring.xlsx")
@supervisor_required
def as_xlsx() -> Any:
    """The 通报 as a workbook: rank, county, score, and each criterion's figures, share, points and weight."""
    from openpyxl import Workbook

    board = _board()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "打分排名"
    sheet.append([f"各县（市、区）冶金工贸安全生产大检查工作打分排名通报（{board.report.cutoff.label}，"
                  f"截至{board.report.cutoff.day.isoformat()}）"])  # fmt: skip
    header = ["排名", "县（市、区）", "总分"]
    for c in board.criteria:
        header += [f"{c.metric.label_zh}（权重{c.weight}）分子", "分母", "比例（%）", "得分"]
    sheet.append(header)
    for row in board.rows:
        line: list[Any] = [row.rank if row.rank is not None else "—", row.unit.name,
                           round(row.score, 2) if row.score is not None else "无数据"]  # fmt: skip
        for part in row.parts:
            share = part.measure.share
            line += [part.measure.numerator, part.measure.denominator,
                     round(share, 2) if share is not None else "无数据",
                     round(part.points, 2) if part.points is not None else "无数据"]  # fmt: skip
        sheet.append(line)
    sheet.append([])
    sheet.append(["说明：覆盖率、清零率、逾期占比取自同期月报（截至日）；自查可靠率取自截至日所在阶段的自查核对，只计经督查人员确认的配对；"
                  "按时报送率取自企业报送情况。无数据的指标不计入该县总分，其余指标按权重加权平均。"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return xlsx_response(out.getvalue(), f"打分排名-{board.report.cutoff.label}.xlsx")


@bp.route("/admin/campaigns/<int:campaign_id>/scoring", methods=["GET", "POST"])
@admin_required
def weights(campaign_id: int) -> Any:
    """The admin's weights of the campaign's criteria."""
    campaign = db.get_or_404(Campaign, campaign_id)
    errors: dict[str, str] = {}
    code = 200
    if request.method == "POST":
        _, errors, code = commit_or_errors(
            lambda: scoring.save_weights(db.session, current_supervisor(), campaign, request.form)
        )
        if not errors:
            return redirect(url_for("scoring.weights", campaign_id=campaign.id), 303)
    return render_template("admin_scoring.html", campaign=campaign, rows=scoring.criteria(db.session, campaign),
                           errors=errors), code  # fmt: skip
