"""In a real browser: an enterprise uploads a ledger whose headers nobody recognises, says what each column is
(with the first rows in view), the import runs, and its next upload with the same headers needs no question."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from server.models import Enterprise, Hazard
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def _workbook(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_an_enterprise_maps_unknown_columns_once(live_server: LiveServer, page: Any, tmp_path: Path) -> None:
    year = date.today().year
    header = ["日子", "毛病", "啥地方", "花了多少（万元）"]
    first = _workbook(
        tmp_path / "自查一.xlsx", [header, [f"{year}-05-12", "料场围栏缺失（浏览器测试）", "料场", 2]]
    )
    second = _workbook(
        tmp_path / "自查二.xlsx", [header, [f"{year}-05-13", "仓库梯子损坏（浏览器测试）", "仓库", 0.5]]
    )

    page.goto(f"{live_server.url}/portal/ledger")
    page.fill("input[name=username]", "qy_jinxing")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/ledger")
    page.set_input_files("#ledger-import input[type=file]", str(first))
    page.click("#ledger-import button[type=submit]")

    page.wait_for_selector("#ledger-mapping")
    assert "料场围栏缺失（浏览器测试）" in page.inner_text("#mapping-preview")
    page.select_option("select[data-column='日子']", "found_at")
    page.select_option("select[data-column='毛病']", "description")
    page.select_option("select[data-column='啥地方']", "place")
    page.select_option("select[data-column='花了多少（万元）']", "funds_yuan")
    page.click("#ledger-mapping button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert "已全部导入" in page.inner_text("#import-summary")

    page.goto(f"{live_server.url}/portal/ledger")
    page.set_input_files("#ledger-import input[type=file]", str(second))
    page.click("#ledger-import button[type=submit]")
    page.wait_for_selector("#import-summary")  # no mapping step: the choice was remembered

    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            stored = dict(
                conn.execute(
                    sa.select(Hazard.description, Hazard.funds_yuan)
                    .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
                    .where(Enterprise.name == "兴县晋兴特钢有限公司", Hazard.description.like("%浏览器测试%"))
                ).all()
            )
    finally:
        engine.dispose()
    assert stored == {"料场围栏缺失（浏览器测试）": 20000, "仓库梯子损坏（浏览器测试）": 5000}
