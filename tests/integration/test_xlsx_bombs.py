"""Hostile and broken workbooks are a 400 with a reason (never a 500, never a worker taken for minutes) on the
portal's ledger upload, the ledger CLI and the registry import (issue 16.5). Timings: bench/xlsx_bombs.py."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from bench import xlsx_bombs
from server.services.enterprise_import import import_enterprises
from server.services.spreadsheet import read_tables
from sync.problems import Problem
from tests.conftest import login
from tests.integration.test_ledger_excel import enterprise

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
#: Each hostile workbook, and a word its reason must contain.
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "zip_bomb": (functools.partial(xlsx_bombs.zip_bomb, 100 * MIB), "解压后过大"),
    "huge_shared_strings": (functools.partial(xlsx_bombs.huge_shared_strings, 80 * MIB), "解压后过大"),
    "billion_rows": (xlsx_bombs.billion_row_dimension, "行"),
    "entity_declaration": (xlsx_bombs.entity_declaration, "实体"),
    "entity_in_shared_strings": (xlsx_bombs.entity_in_shared_strings, "实体"),
    "cut_in_half": (xlsx_bombs.cut_in_half, "不完整"),
    "malformed_sheet": (xlsx_bombs.malformed_sheet, "不是有效的 .xlsx"),
}


@functools.cache
def hostile(name: str) -> bytes:
    """The workbook ``name``, made once per test session."""
    return CASES[name][0]()


@pytest.mark.parametrize("name", list(CASES))
def test_the_reader_refuses_each_with_its_reason(name: str) -> None:
    with pytest.raises(Problem) as refused:
        read_tables(hostile(name), "台账.xlsx", lambda rows: True, fill_merged=True)
    assert refused.value.status == 400 and CASES[name][1] in refused.value.message("zh")


def test_a_csv_of_too_many_rows_is_refused() -> None:
    with pytest.raises(Problem) as refused:
        read_tables(b"\n" * 70_000 + "检查时间,隐患描述\n".encode(), "台账.csv", lambda rows: True)
    assert "超过 60000 行" in refused.value.message("zh")


def test_a_sheet_that_only_claims_a_billion_rows_is_read_as_what_it_holds() -> None:
    (rows,) = read_tables(xlsx_bombs.lying_dimension(), "台账.xlsx", lambda rows: True)
    assert rows == [["检查时间", "隐患描述"], ["2026-05-12", "围栏缺失"]]


@pytest.mark.parametrize("name", list(CASES))
def test_the_portal_answers_400_with_the_reason(app: Flask, name: str) -> None:
    client = app.test_client()
    token = login(client, "qy_jinxing")
    response = client.post(
        "/portal/ledger/import",
        data={"csrf_token": token, "file": (io.BytesIO(hostile(name)), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and CASES[name][1] in html and "未写入任何数据" in html


@pytest.mark.parametrize("name", ["zip_bomb", "entity_declaration", "cut_in_half", "billion_rows"])
def test_the_cli_reports_the_reason_and_exits_non_zero(app: Flask, tmp_path: Path, name: str) -> None:
    path = tmp_path / "台账.xlsx"
    path.write_bytes(hostile(name))
    with app.app_context():
        credit_code = enterprise().credit_code
    runner = app.test_cli_runner()
    ledger = runner.invoke(args=["ledger", "import", credit_code, str(path)])
    registry = runner.invoke(args=["import-enterprises", str(path)])
    for result in (ledger, registry):
        assert result.exit_code != 0 and CASES[name][1] in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["zip_bomb", "entity_declaration", "malformed_sheet"])
def test_the_registry_import_refuses_them_too(app: Flask, ctx: None, tmp_path: Path, name: str) -> None:
    from server.extensions import db

    path = tmp_path / "企业名录.xlsx"
    path.write_bytes(hostile(name))
    with pytest.raises(Problem) as refused:
        import_enterprises(db.session, path)
    assert refused.value.status == 400 and CASES[name][1] in refused.value.message("zh")
