"""Issue 13's findings on the monthly report: the notice's own title and labels whoever files it, a 联系电话 the
unit can set, and rows that grow with their text when the workbook is printed (LibreOffice renders it)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from server import clock
from server.domain.hazards import HazardLevel
from server.extensions import db
from server.models import AuditEvent, Hazard, Region, User
from server.services.progress_report import FORM_TITLE, build_report
from server.services.progress_report.xlsx import report_xlsx
from tests.conftest import login


def _far_month() -> date:
    """A month whose cut-off is after everything the demo holds."""
    return (date.today() + timedelta(days=400)).replace(day=1)


def _csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def test_the_citys_report_has_the_notices_title_and_its_own_name(app: Flask) -> None:
    client = app.test_client()
    login(client, "ll_city")
    html = client.get("/reports/monthly").get_data(as_text=True)
    assert f'<h2 class="report-title">{FORM_TITLE}</h2>' in html
    for label in ("统计项", "一、成立检查组", "二、督查监管部门情况", "三、企业隐患排查整治进展情况",
                  "专项行动检查发现重大隐患明细", "填表人", "填表日期"):  # fmt: skip
        assert label in html, label
    assert re.search(r'data-figure="unit">吕梁市应急管理局<', html)
    data = client.get("/api/reports/monthly").get_json()
    assert (
        data["title"] == FORM_TITLE
        and "兴县" not in data["title"]
        and data["unit_name"] == "吕梁市应急管理局"
    )


def test_the_unit_sets_the_phone_its_reports_print(app: Flask) -> None:
    client = app.test_client()
    login(client, "xx_sup")
    bad = client.post(
        "/reports/phone", data={"csrf_token": _csrf(client, "/reports/monthly"), "phone": "请致电"}
    )
    assert bad.status_code == 400 and "联系电话“请致电”无效" in bad.get_data(as_text=True)
    saved = client.post(
        "/reports/phone", data={"csrf_token": _csrf(client, "/reports/monthly"), "phone": "0358-6321234"}
    )
    assert saved.status_code == 302
    html = client.get("/reports/monthly").get_data(as_text=True)
    assert re.search(r'data-figure="phone">0358-6321234<', html)
    assert client.get("/api/reports/monthly").get_json()["phone"] == "0358-6321234"
    with client.get("/reports/monthly.xlsx") as response:
        book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [str(c.value) for row in book["统计报表"].iter_rows() for c in row if c.value]
    assert "联系电话：0358-6321234" in cells
    with app.app_context():
        county = db.session.scalar(sa.select(Region).where(Region.code == "141123"))
        assert county is not None and county.contact_phone == "0358-6321234"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report.phone"))
        assert event is not None and event.data["after"] == "0358-6321234"
    # The city's own report keeps its own (still unset) phone.
    city = app.test_client()
    login(city, "ll_city")
    assert city.get("/api/reports/monthly").get_json()["phone"] != "0358-6321234"


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required in CI (apt-get install -y libreoffice-calc-nogui)")
        pytest.skip("LibreOffice is not installed (apt-get install -y libreoffice-calc-nogui)")
    return found


def test_printed_rows_grow_with_their_text(app: Flask, tmp_path: Path) -> None:
    """Converted to PDF by LibreOffice, every major hazard's long description prints whole: a row too short for
    its text would clip it (and, on paper, print it over the next row)."""
    soffice = _soffice()
    with app.app_context():
        majors = db.session.scalars(sa.select(Hazard).where(Hazard.level == HazardLevel.major)).all()
        assert majors
        for hazard in majors:
            hazard.description = "；".join([hazard.description.rstrip("。")] * 3) + "。"
        db.session.flush()
        user = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        assert user is not None
        report = build_report(db.session, user, _far_month(), zone=clock.zone())
        descriptions = [m.description for m in report.majors]
        assert len(descriptions) == len(majors)
        (tmp_path / "report.xlsx").write_bytes(report_xlsx(report))
        db.session.rollback()
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir",
         str(tmp_path), str(tmp_path / "report.xlsx")],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pages = PdfReader(str(tmp_path / "report.pdf")).pages
    text = "".join("".join(page.extract_text().split()) for page in pages)
    assert "".join(FORM_TITLE.split()) in text and "统计项" in text
    for description in descriptions:
        assert "".join(description.split()) in text, f"clipped on paper: {description[:30]}…"
