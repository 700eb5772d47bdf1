"""Importing the enterprise registry from .xlsx and .csv files (server.services.enterprise_import)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask

from server.domain.credit_code import CHARSET, make_credit_code
from server.domain.sectors import Sector
from server.extensions import db
from server.models import Enterprise, QrToken
from server.services.enterprise_import import ImportReport, import_enterprises
from sync.problems import Problem
from tests.conftest import add_county_regions

pytestmark = pytest.mark.integration

HEADER = [
    "企业名称*",
    "统一社会信用代码*",
    "所属区域",
    "地址",
    "经度",
    "纬度",
    "钢铁",
    "铝加工（深井铸造）",
    "粉尘涉爆",
    "粉尘涉爆作业人数",
    "主要负责人",
    "联系电话",
    "成立日期",
]


@pytest.fixture
def app(empty_app: Flask) -> Iterator[Flask]:
    """An app on an empty migrated database with 吕梁市 ▸ 兴县 ▸ 兴县经济技术开发区."""
    application = empty_app
    with application.app_context():
        add_county_regions(db.session)
        db.session.commit()
    yield application


def code(n: int) -> str:
    """A valid credit code, distinct for each ``n``."""
    return make_credit_code("9", "1", "141123", f"MA{n:06d}")


def wrong_check_digit(valid: str) -> str:
    """``valid`` with its 18th character replaced, so only the GB 32100 check fails."""
    other = CHARSET[(CHARSET.index(valid[17]) + 1) % len(CHARSET)]
    return valid[:17] + other


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """An .xlsx file with ``rows`` on its first sheet, row 1 first."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[str]], encoding: str, delimiter: str = ",") -> Path:
    """A CSV file in ``encoding`` (Excel on Chinese Windows writes GBK)."""
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def enterprise(credit_code: str) -> Enterprise | None:
    """The stored enterprise with this credit code."""
    return db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == credit_code))


def enterprise_count() -> int:
    """How many enterprises are stored."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise)) or 0


def errors_of(report: ImportReport) -> set[tuple[int, str, str]]:
    """The report's errors as (row, column, problem code)."""
    return {(e.row, e.column, e.code) for e in report.errors}


def good_row(n: int, name: str, **overrides: Any) -> list[Any]:
    """A valid data row for HEADER."""
    values: dict[str, Any] = {
        "企业名称*": name,
        "统一社会信用代码*": code(n),
        "所属区域": "141123",
        "地址": "兴县蔚汾镇工业路1号",
        "经度": 111.12,
        "纬度": 38.46,
        "钢铁": "是",
        "铝加工（深井铸造）": "否",
        "粉尘涉爆": "",
        "粉尘涉爆作业人数": 0,
        "主要负责人": "张三",
        "联系电话": "0358-6321234",
        "成立日期": "2020-01-15",
    }
    values.update(overrides)
    return [values[h] for h in HEADER]


# --- Files that import cleanly ------------------------------------------------------------------------


def test_xlsx_with_title_rows_dates_blank_rows_and_total_row(ctx: None, tmp_path: Path) -> None:
    rows: list[Sequence[Any]] = [
        ["兴县冶金工贸企业名录（2026年）"],
        ["填报单位：兴县应急管理局", None, None, "填报日期：2026-05-01"],
        HEADER,
        good_row(1, "兴县宏达钢铁有限公司", 成立日期=44684),  # an Excel serial: 2022-05-03
        [],
        good_row(
            2,
            "兴县华兴铝业有限公司",
            所属区域="兴县经济技术开发区",
            钢铁="×",
            **{"铝加工（深井铸造）": "√", "粉尘涉爆": "Y"},
            粉尘涉爆作业人数="12人",
            成立日期="2022年5月3日",
            联系电话=13912345678,
        ),
        [None, None, None, None],
        good_row(3, "兴县鑫源粉末冶金有限公司", 成立日期=date(2022, 5, 3), 经度="111.5", 纬度="38.5"),
        ["合计", "3 家"],
    ]
    path = write_xlsx(tmp_path / "名录.xlsx", rows)

    report = import_enterprises(db.session, path)
    db.session.commit()

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    first, second, third = enterprise(code(1)), enterprise(code(2)), enterprise(code(3))
    assert first is not None and second is not None and third is not None
    assert first.established_on == second.established_on == third.established_on == date(2022, 5, 3)
    assert first.sectors == frozenset({Sector.steel})
    assert second.sectors == frozenset({Sector.aluminium_casting, Sector.dust_explosion})
    assert second.dust_workers == 12
    assert second.region.name == "兴县经济技术开发区"
    assert second.main_person_phone == "13912345678"
    assert (first.lon, first.lat) == (111.12, 38.46)
    assert (third.lon, third.lat) == (111.5, 38.5)
    assert first.region.code == "141123" and first.address == "兴县蔚汾镇工业路1号"
    # Every new enterprise has its first QR token, recorded as issued and not revoked.
    for stored in (first, second, third):
        assert stored.qr_token
        token = db.session.get(QrToken, stored.qr_token)
        assert token is not None and token.revoked_at is None
    assert "新增 3" in report.as_text() and "created 3" in report.as_text()


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("utf-8", ","), ("gb18030", ","), ("gb18030", ";"), ("gbk", "\t")],
)
def test_csv_encodings_and_delimiters(ctx: None, tmp_path: Path, encoding: str, delimiter: str) -> None:
    rows = [
        ["企业名称", "统一社会信用代码", "所在乡镇", "涉及行业", "粉尘涉爆作业人数", "成立日期"],
        ["兴县宏达钢铁有限公司", code(11), "兴县", "钢铁、煤气区域", "", "2022/5/3"],
        [
            "兴县鑫源粉末冶金有限公司",
            code(12),
            "141123-01",
            "粉尘涉爆；有限空间，dust_explosion",
            "8",
            "2022.5.3",
        ],
        ["兴县冷库有限公司", code(13), "兴县", "", "", ""],
    ]
    path = write_csv(tmp_path / "enterprises.csv", rows, encoding, delimiter)

    report = import_enterprises(db.session, path)

    assert report.errors == []
    assert report.created == 3
    steel, dust, cold = enterprise(code(11)), enterprise(code(12)), enterprise(code(13))
    assert steel is not None and dust is not None and cold is not None
    assert steel.name == "兴县宏达钢铁有限公司"
    assert steel.sectors == frozenset({Sector.steel, Sector.gas_area})
    assert dust.sectors == frozenset({Sector.dust_explosion, Sector.confined_space})
    assert dust.dust_workers == 8 and dust.region.code == "141123-01"
    assert steel.established_on == dust.established_on == date(2022, 5, 3)
    assert cold.sectors == frozenset() and cold.established_on is None


def test_english_headers_and_default_region(ctx: None, tmp_path: Path) -> None:
    rows = [
        ["Enterprise name", "Credit code", "Address", "Sectors"],
        ["兴县宏达钢铁有限公司", code(21), "", "steel"],
    ]
    path = write_csv(tmp_path / "en.csv", rows, "utf-8")

    report = import_enterprises(db.session, path, default_region_code="141123-01")

    assert report.errors == [] and report.created == 1
    stored = enterprise(code(21))
    assert stored is not None and stored.region.code == "141123-01" and stored.sectors == {Sector.steel}


# --- Files refused as a whole ---------------------------------------------------------------------------


def test_header_without_credit_code_column_is_refused(ctx: None, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "bad.xlsx", [["企业名称", "所属区域"], ["兴县宏达钢铁有限公司", "141123"]])

    with pytest.raises(Problem) as caught:
        import_enterprises(db.session, path)

    assert caught.value.code == "400.5"
    assert "统一社会信用代码" in caught.value.message("zh")
    assert "missing required column" in caught.value.details["reason_en"]
    assert enterprise_count() == 0


@pytest.mark.parametrize(
    ("name", "content"), [("old.xls", b"\xd0\xcf\x11\xe0"), ("broken.xlsx", b"not a zip")]
)
def test_wrong_or_unreadable_files_are_refused(ctx: None, tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(Problem) as caught:
        import_enterprises(db.session, path)

    assert caught.value.code == "400.5"
    assert name.rsplit(".", 1)[1] in caught.value.message("zh") or name in caught.value.message("zh")


def test_no_region_column_and_no_default_is_refused(ctx: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["企业名称", "统一社会信用代码"], ["甲", code(1)]], "utf-8")

    with pytest.raises(Problem) as caught:
        import_enterprises(db.session, path)
    assert caught.value.code == "400.5" and "所属区域" in caught.value.message("zh")

    with pytest.raises(Problem) as unknown:
        import_enterprises(db.session, path, default_region_code="999999")
    assert unknown.value.code == "400.22"


# --- Bad rows ---------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_and_skipped_while_good_rows_are_written(ctx: None, tmp_path: Path) -> None:
    bad_check = wrong_check_digit(code(32))
    rows: list[Sequence[Any]] = [
        ["企业名录"],
        HEADER,
        good_row(31, "好企业甲"),  # row 3
        good_row(32, "校验位错误企业", **{"统一社会信用代码*": bad_check}),  # row 4
        good_row(33, "坐标错误企业", 经度=200, 纬度="abc"),  # row 5
        good_row(34, "区域错误企业", 所属区域="不存在县"),  # row 6
        good_row(35, "人数错误企业", 粉尘涉爆作业人数="十二"),  # row 7
        good_row(36, "好企业乙", 钢铁="1", 粉尘涉爆作业人数=3.0),  # row 8
        good_row(37, "", 联系电话="电话待补", 成立日期="2022-13-40", 钢铁="也许"),  # row 9: four problems
        good_row(38, "只有经度企业", 纬度=None),  # row 10
        good_row(39, "境外坐标企业", 经度=-0.12, 纬度=51.5),  # row 11: London (its latitude alone would pass)
        good_row(40, "名" * 201),  # row 12: longer than the column
    ]
    path = write_xlsx(tmp_path / "mixed.xlsx", rows)

    report = import_enterprises(db.session, path)
    db.session.commit()

    assert errors_of(report) == {
        (4, "统一社会信用代码*", "400.3"),
        (5, "经度", "400.23"),
        (5, "纬度", "400.23"),
        (6, "所属区域", "400.22"),
        (7, "粉尘涉爆作业人数", "400.25"),
        (9, "企业名称*", "400.20"),
        (9, "联系电话", "400.29"),
        (9, "成立日期", "400.28"),
        (9, "钢铁", "400.26"),
        (10, "纬度", "400.20"),  # the longitude is given, so the latitude is needed
        (11, "经度", "400.23"),
        (12, "企业名称*", "400.24"),
    }
    assert report.created == 2 and report.error_rows == [4, 5, 6, 7, 9, 10, 11, 12]
    assert enterprise(code(31)) is not None and enterprise(code(36)) is not None
    for n in (33, 34, 35, 37, 38, 39, 40):
        assert enterprise(code(n)) is None
    assert enterprise(bad_check) is None and enterprise_count() == 2

    text = report.as_text()
    assert "第 4 行 [统一社会信用代码*]：" in text and "校验位错误 (" in text and "check digit wrong" in text
    assert "第 6 行 [所属区域]：区域“不存在县”不存在" in text
    assert "第 7 行 [粉尘涉爆作业人数]：“十二”不是非负整数" in text


def test_duplicate_credit_codes_report_every_row_and_write_none(ctx: None, tmp_path: Path) -> None:
    rows = [
        HEADER,
        good_row(41, "重复企业甲"),  # row 2
        good_row(42, "唯一企业"),  # row 3
        good_row(41, "重复企业乙"),  # row 4
        good_row(41, "重复企业丙", 经度=999),  # row 5, also a bad coordinate
    ]
    path = write_xlsx(tmp_path / "dups.xlsx", rows)

    report = import_enterprises(db.session, path)

    duplicate_rows = sorted(e.row for e in report.errors if e.code == "400.21")
    assert duplicate_rows == [2, 4, 5]
    assert all(e.column == "统一社会信用代码*" for e in report.errors if e.code == "400.21")
    assert "2, 4, 5" in report.errors[-1].reason
    assert enterprise(code(41)) is None and enterprise(code(42)) is not None
    assert report.created == 1


# --- Re-import, strict and dry runs ----------------------------------------------------------------------


def test_reimport_updates_by_credit_code_and_is_idempotent(ctx: None, tmp_path: Path) -> None:
    first = write_xlsx(
        tmp_path / "v1.xlsx", [HEADER, good_row(51, "甲企业"), good_row(52, "乙企业"), good_row(53, "丙企业")]
    )
    assert import_enterprises(db.session, first).created == 3
    db.session.commit()
    before = enterprise(code(51))
    assert before is not None
    token, version = before.qr_token, before.row_version

    second = write_xlsx(
        tmp_path / "v2.xlsx",
        [
            HEADER,
            good_row(
                51, "甲企业（更名）", 联系电话="0358-1111111", 粉尘涉爆="是", 所属区域="兴县经济技术开发区"
            ),
            good_row(52, "乙企业"),
        ],
    )
    report = import_enterprises(db.session, second)
    db.session.commit()
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 1, 1, [])

    after = enterprise(code(51))
    assert after is not None
    assert after.name == "甲企业（更名）" and after.main_person_phone == "0358-1111111"
    assert after.sectors == {Sector.steel, Sector.dust_explosion} and after.region.code == "141123-01"
    assert after.qr_token == token and after.row_version == version + 1
    # Enterprises missing from the file stay.
    assert enterprise(code(53)) is not None and enterprise_count() == 3

    again = import_enterprises(db.session, second)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert "未变 2" in again.as_text() and "unchanged 2" in again.as_text()


def test_strict_mode_writes_nothing_when_a_row_is_bad(ctx: None, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "s.xlsx", [HEADER, good_row(61, "好企业"), good_row(62, "坏企业", 所属区域="火星")]
    )

    report = import_enterprises(db.session, path, strict=True)
    db.session.commit()

    assert report.created == 1 and not report.written
    assert [(e.row, e.code) for e in report.errors] == [(3, "400.22")]
    assert enterprise_count() == 0
    assert "严格模式" in report.as_text()


def test_dry_run_writes_nothing(ctx: None, tmp_path: Path) -> None:
    import_enterprises(db.session, write_xlsx(tmp_path / "a.xlsx", [HEADER, good_row(71, "原名企业")]))
    db.session.commit()

    path = write_xlsx(tmp_path / "b.xlsx", [HEADER, good_row(71, "新名企业"), good_row(72, "新企业")])
    report = import_enterprises(db.session, path, dry_run=True)
    # Even a commit after a dry run must find nothing to write.
    db.session.commit()

    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    stored = enterprise(code(71))
    assert stored is not None and stored.name == "原名企业"
    assert enterprise(code(72)) is None and enterprise_count() == 1
    assert "试运行" in report.as_text() and "dry run" in report.as_text()
