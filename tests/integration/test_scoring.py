"""The city's 打分排队 of counties (issue 18, notice 四（四）): criteria as data with weights, each county's score the
weighted mean of its measurable criteria, every figure traceable to the monthly report, the reconciliation and the
submissions matrix it comes from; XLSX 通报; scope; the admin's weights."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from server.domain.scoring import Measure, Metric, points, ranks, weighted_score
from server.extensions import db
from server.models import Campaign, ScoringCriterion
from tests.conftest import login


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def test_points_weights_and_ranks() -> None:
    assert points(Metric.coverage, Measure(3, 4)) == 75.0
    assert points(Metric.overdue_share, Measure(1, 4)) == 75.0  # less overdue is better
    assert points(Metric.coverage, Measure(0, 0)) is None  # nothing to measure is not 0 nor 100
    assert weighted_score([(30, 80.0), (10, None), (10, 40.0)]) == pytest.approx(70.0)
    assert weighted_score([(30, None)]) is None
    assert ranks([90.0, None, 90.004, 80.0]) == [1, None, 1, 3]


def test_each_county_score_rests_on_the_monthly_report_and_the_other_pages(app: Flask) -> None:
    city, _ = signed_in(app, "ll_city")
    board = city.get("/scoring.json?final=1").get_json()
    report = city.get("/api/reports/monthly?final=1").get_json()
    by_name = {row["unit"]: row for row in report["rows"]}
    assert {c["name"] for c in board["counties"]} >= {"兴县", "临县"}
    assert [c["metric"] for c in board["criteria"]] == [m.value for m in Metric]
    for county in board["counties"]:
        figures = by_name[county["name"]]
        parts = {p["metric"]: p for p in county["parts"]}
        assert (parts["coverage"]["numerator"], parts["coverage"]["denominator"]) == (
            figures["enterprises_covered"], figures["enterprises_in_scope"])  # fmt: skip
        assert (parts["clearance"]["numerator"], parts["clearance"]["denominator"]) == (
            figures["cleared"], figures["enterprises_in_scope"])  # fmt: skip
        assert (parts["overdue_share"]["numerator"], parts["overdue_share"]["denominator"]) == (
            figures["overdue"], figures["hazards"])  # fmt: skip
        expected = weighted_score([(p["weight"], p["points"]) for p in county["parts"]])
        assert county["score"] == pytest.approx(expected) if expected is not None else county["score"] is None
    scores = [c["score"] for c in board["counties"]]
    assert [c["rank"] for c in board["counties"]] == ranks(scores)
    # 兴县 has inspections and reconciled findings in the demo: its reliability and timeliness are measured.
    xingxian = next(c for c in board["counties"] if c["name"] == "兴县")
    parts = {p["metric"]: p for p in xingxian["parts"]}
    assert parts["timeliness"]["denominator"] > 0 and parts["coverage"]["denominator"] > 0

    page = city.get("/scoring?final=1").get_data(as_text=True)
    assert 'id="scoring"' in page and "/reports/monthly?final=1" in page and "/reconciliation" in page
    reply = city.get("/scoring.xlsx?final=1")
    try:
        sheet = load_workbook(io.BytesIO(reply.data)).active
    finally:
        reply.close()
    assert sheet is not None
    names = [sheet.cell(row=r, column=2).value for r in range(3, 3 + len(board["counties"]))]
    assert names == [c["name"] for c in board["counties"]]


def test_weights_are_data_the_admin_edits(app: Flask) -> None:
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id))
        rows = {c.metric: c.id for c in db.session.scalars(sa.select(ScoringCriterion))}
    admin, csrf = signed_in(app, "admin")
    url = f"/admin/campaigns/{campaign_id}/scoring"
    only_coverage = {"csrf_token": csrf, **{f"weight_{cid}": "0" for cid in rows.values()},
                     f"weight_{rows[Metric.coverage]}": "100"}  # fmt: skip
    assert admin.post(url, data=only_coverage).status_code == 303
    city, _ = signed_in(app, "ll_city")
    for county in city.get("/scoring.json?final=1").get_json()["counties"]:
        coverage = next(p for p in county["parts"] if p["metric"] == "coverage")
        assert (
            county["score"] == pytest.approx(coverage["points"]) if coverage["points"] is not None else True
        )
    bad = {"csrf_token": csrf, **{f"weight_{cid}": "0" for cid in rows.values()}}
    assert admin.post(url, data=bad).status_code == 400  # nothing would count
    assert (
        admin.post(url, data={**only_coverage, f"weight_{rows[Metric.clearance]}": "1.5"}).status_code == 400
    )
    sup, _ = signed_in(app, "xx_sup")
    assert sup.get(url).status_code == 404


def test_a_county_supervisor_sees_only_their_county_and_others_nothing(app: Flask) -> None:
    sup, _ = signed_in(app, "xx_sup")
    names = [c["name"] for c in sup.get("/scoring.json?final=1").get_json()["counties"]]
    assert names == ["兴县"]
    for username in ("xx_insp1", "qy_jinxing", "xx_legal"):
        client, _ = signed_in(app, username)
        assert client.get("/scoring").status_code == 404
    city, _ = signed_in(app, "ll_city")
    assert city.get("/scoring?month=2026-13").status_code == 400
