"""Importing the enterprise registry (企业名录) from the county's spreadsheet: .xlsx or .csv, Chinese headers.

Rules the import keeps:

- the header row is the first of the first 10 rows naming both 企业名称 and 统一社会信用代码 (title rows
  above it are common); blank rows and a 合计/总计 row are skipped;
- every cell of a row is checked before anything of that row is written, and every problem of a row is
  reported, with the row number the user sees in Excel and the column header as written in the file;
- a credit code that appears on several rows is reported on each of them and none of them is written:
  the import cannot know which row is right;
- re-importing updates by credit code and never deletes; a blank cell keeps what is stored (registry
  exports often leave fields out), except sector flags, where blank means "no";
- an enterprise new to the database gets its first QR token.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.domain.credit_code import InvalidCreditCode, is_valid_credit_code, validate_credit_code
from server.domain.sectors import SECTOR_LABELS_EN, SECTOR_LABELS_ZH, Sector
from server.errors import (
    # the catalogue's entries this module raises
    coordinate_invalid,
    count_invalid,
    credit_code_invalid,
    credit_code_repeated,
    phone_invalid,
    region_unknown,
    sector_unknown,
    text_too_long,
    value_missing,
)
from server.models import Enterprise, Region
from server.services import DbSession
from server.services.qr import issue_token
from server.services.spreadsheet import (  # RowError is also named from here by callers
    HEADER_SEARCH_ROWS,
    Header,
    HeaderSpec,
    Note,
    RowCheck,
    RowError,
    file_invalid,
    find_header,
    first_header,
    parse_date,
    read_tables,
    starts_as_total,
)
from server.services.spreadsheet import NONE_WORDS as _NONE_WORDS
from server.services.spreadsheet import is_blank as _is_blank
from server.services.spreadsheet import key as _key
from server.services.spreadsheet import loose_key as _loose_key
from server.services.spreadsheet import parse_flag as _flag
from server.services.spreadsheet import shown as _shown
from server.services.spreadsheet import text as _text
from sync.problems import Problem

# --- Columns -------------------------------------------------------------------------------------------

#: China's extent, WGS-84: a point outside is a typo or swapped columns, not a plant in the county.
LON_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)
ACCEPTED_SUFFIXES = (".xlsx", ".csv")

#: Lengths of the Enterprise columns, so a long cell is a row error rather than a database error.
_MAX_LENGTH = {"name": 200, "address": 300, "main_person": 50, "main_person_phone": 32}

_SECTOR_EXTRA_ALIASES: dict[Sector, tuple[str, ...]] = {
    Sector.steel: ("钢铁企业", "冶金", "钢铁行业"),
    Sector.aluminium_casting: ("铝加工", "深井铸造", "铝加工深井铸造", "铝深井铸造"),
    Sector.dust_explosion: ("粉尘", "粉尘防爆", "涉爆粉尘"),
    Sector.ammonia_refrigeration: ("涉氨", "氨制冷"),
    Sector.confined_space: ("有限空间",),
    Sector.hazardous_work: ("危险作业许可",),
    Sector.major_hazard_source: ("重大危险源企业",),
    Sector.gas_area: ("煤气", "涉煤气", "煤气危险区域"),
}


@dataclass(frozen=True)
class _Field:
    """A column the import knows: its key, the header shown in messages, and accepted header spellings."""

    key: str
    label: str
    aliases: tuple[str, ...]


def _sector_names(sector: Sector) -> tuple[str, ...]:
    return (
        SECTOR_LABELS_ZH[sector],
        sector.value,
        SECTOR_LABELS_EN[sector],
        *_SECTOR_EXTRA_ALIASES.get(sector, ()),
    )


FIELDS: tuple[_Field, ...] = (
    _Field("name", "企业名称", ("企业名称", "单位名称", "企业(单位)名称", "名称", "name", "enterprise name")),
    _Field(
        "credit_code",
        "统一社会信用代码",
        ("统一社会信用代码", "社会信用代码", "信用代码", "统一信用代码", "credit code", "uscc"),
    ),
    _Field(
        "region",
        "所属区域",
        (
            "所属区域",
            "所在乡镇",
            "区域",
            "所在区域",
            "所属乡镇",
            "乡镇",
            "所属乡镇(街道)",
            "区域代码",
            "region",
            "region code",
        ),
    ),
    _Field("address", "地址", ("地址", "企业地址", "详细地址", "生产经营地址", "经营地址", "address")),
    _Field("lon", "经度", ("经度", "lon", "lng", "longitude")),
    _Field("lat", "纬度", ("纬度", "lat", "latitude")),
    _Field(
        "dust_workers",
        "粉尘涉爆作业人数",
        ("粉尘涉爆作业人数", "涉爆粉尘作业人数", "粉尘涉爆从业人数", "粉尘作业人数", "dust workers"),
    ),
    _Field("main_person", "主要负责人", ("主要负责人", "负责人", "main person", "responsible person")),
    _Field(
        "phone",
        "联系电话",
        ("联系电话", "电话", "联系方式", "手机", "主要负责人电话", "负责人电话", "phone", "telephone", "tel"),
    ),
    _Field(
        "established_on", "成立日期", ("成立日期", "成立时间", "established", "established on", "founded")
    ),
    _Field("sectors", "涉及行业", ("涉及行业", "行业类别", "行业", "所属行业", "sectors", "sector")),
    *(_Field(f"sector:{sector.value}", SECTOR_LABELS_ZH[sector], _sector_names(sector)) for sector in Sector),
)
_ALIASES: dict[str, str] = {_key(alias): f.key for f in FIELDS for alias in f.aliases}
_SECTOR_BY_NAME: dict[str, Sector] = {_key(n): s for s in Sector for n in _sector_names(s)}
REQUIRED = ("name", "credit_code")

_CREDIT_REASONS: dict[str, tuple[str, str]] = {
    "length": ("长度应为 18 位（现为 {n} 位）", "must be 18 characters long (has {n})"),
    "charset": ("第 {p} 位是不允许的字符", "the character at position {p} is not allowed"),
    "registration_authority": ("第 1 位登记管理部门代码无效", "position 1 is not a registration authority"),
    "division_code": (
        "第 3-8 位应为行政区划代码（数字）",
        "positions 3-8 must be the division code (digits)",
    ),
    "org_code_check": (
        "第 17 位组织机构代码校验位错误",
        "the organisation-code check (position 17) is wrong",
    ),
    "check_digit": ("校验位错误", "check digit wrong"),
}


# --- The report ------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, in a dry run or a refused strict run, would have done)."""

    source: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    dry_run: bool = False
    strict: bool = False

    @property
    def written(self) -> bool:
        """Whether the good rows were written to the session."""
        return not self.dry_run and not (self.strict and self.errors)

    @property
    def error_rows(self) -> list[int]:
        """The numbers of the rows that have at least one problem."""
        return sorted({e.row for e in self.errors})

    def as_text(self) -> str:
        """A multi-line summary: counts, what was written, then one line per problem."""
        bad = len(self.error_rows)
        lines = [
            f"企业名录导入 / enterprise import: {self.source}"
            if self.source
            else "企业名录导入 / enterprise import",
            f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}，有误 {bad} 行 / "
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rows with errors {bad}",
        ]
        if self.dry_run:
            lines.append("试运行：未写入任何数据（以上为将会发生的变化） / dry run: nothing was written")
        elif self.strict and self.errors:
            lines.append(
                "严格模式：文件有误，未写入任何数据 / strict mode: the file has errors, nothing was written"
            )
        elif self.errors:
            lines.append(
                "有误的行未导入，其余各行已导入 / rows with errors were skipped, the others imported"
            )
        lines.extend(f"说明 / note: {note.zh} / {note.en}" for note in self.notes)
        lines.extend(error.as_text() for error in sorted(self.errors, key=lambda e: e.row))
        return "\n".join(lines)


# --- Reading the file ----------------------------------------------------------------------------------


# --- Finding the header ---------------------------------------------------------------------------------


def _field_of(label: str) -> str | None:
    folded = _key(label)
    return _ALIASES.get(folded) or _ALIASES.get(_loose_key(folded))


#: The registry's header rules: its spellings, its two required columns, and the columns passed over silently.
_SPEC = HeaderSpec(
    _field_of, REQUIRED, {f.key: f.label for f in FIELDS}, frozenset({"序号", "编号", "备注", "no.", "no"})
)


# --- Cell parsers: each returns the value or raises a Problem ----------------------------------------------


def _plain_text(value: Any, attr: str) -> str:
    text = " ".join(_text(value).split())
    limit = _MAX_LENGTH[attr]
    if len(text) > limit:
        raise text_too_long(value=_shown(text, 20), limit=limit)
    return text


def _phone(value: Any) -> str:
    text = " ".join(unicodedata.normalize("NFKC", _text(value)).split())
    if not re.fullmatch(r"\+?[0-9][0-9 \-]*", text) or sum(ch.isdigit() for ch in text) < 5:
        raise phone_invalid(value=_shown(text))
    return _plain_text(text, "main_person_phone")


def _coordinate(value: Any, axis: str) -> float:
    low, high = LON_RANGE if axis == "lon" else LAT_RANGE
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = unicodedata.normalize("NFKC", _text(value)).rstrip("°").strip()
        try:
            number = float(text)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise coordinate_invalid(
            value=_shown(value),
            axis="经度" if axis == "lon" else "纬度",
            axis_en="longitude" if axis == "lon" else "latitude",
            low=f"{low:g}",
            high=f"{high:g}",
        )
    # Beyond 7 decimals (about 1 cm) the digits are noise; rounding keeps re-imports unchanged.
    return round(number, 7)


def _count(value: Any) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and value >= 0:
            return int(value)
        raise count_invalid(value=_shown(value))
    text = unicodedata.normalize("NFKC", _text(value)).replace(",", "")
    text = re.sub(r"\s*[人名]$", "", text)
    if not text.isdigit():
        raise count_invalid(value=_shown(value))
    return int(text)


def _sector_list(value: Any) -> tuple[set[Sector], list[Problem]]:
    chosen: set[Sector] = set()
    problems: list[Problem] = []
    for part in re.split(r"[、,，;；\n]+", _text(value)):
        key = _key(part)
        if not key or key in _NONE_WORDS:
            continue
        sector = _SECTOR_BY_NAME.get(key) or _SECTOR_BY_NAME.get(_loose_key(key))
        if sector is None:
            problems.append(
                sector_unknown(
                    value=_shown(part.strip()),
                    known="、".join(SECTOR_LABELS_ZH[s] for s in Sector),
                    known_en=", ".join(s.value for s in Sector),
                )
            )
        else:
            chosen.add(sector)
    return chosen, problems


def _credit_code(value: Any) -> str:
    raw = _text(value)
    try:
        return validate_credit_code(raw)
    except InvalidCreditCode as error:
        zh, en = _CREDIT_REASONS.get(error.reason, (str(error), str(error)))
        details = {"n": len(error.code), "p": error.position}
        raise credit_code_invalid(
            value=_shown(raw, 24), reason=zh.format(**details), reason_en=en.format(**details)
        ) from None


# --- Rows ---------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    """A row that passed every cell check: what it says, ready to compare and write."""

    line: int
    credit_code: str
    values: dict[str, Any]
    sectors: dict[Sector, bool]
    region: Region | None
    region_column: str


class _Regions:
    """Regions by code and by exact name (a name two regions share is ambiguous, never guessed)."""

    def __init__(self, session: DbSession) -> None:
        self.by_code: dict[str, Region] = {}
        self.by_name: dict[str, list[Region]] = defaultdict(list)
        for region in session.scalars(sa.select(Region)):
            self.by_code[region.code] = region
            self.by_name[region.name].append(region)

    def find(self, raw: Any) -> Region:
        text = unicodedata.normalize("NFKC", _text(raw)).strip()
        region = self.by_code.get(text)
        if region is None:
            named = self.by_name.get(text) or self.by_name.get(_text(raw), [])
            if len(named) == 1:
                region = named[0]
        if region is None:
            raise region_unknown(value=_shown(raw))
        return region


def _is_total_row(cells: Sequence[Any], header: Header) -> bool:
    # A total row may put a count under any column, but never a real credit code.
    return starts_as_total(cells) and not is_valid_credit_code(_text(header.cell(cells, "credit_code")))


def _is_repeated_header(cells: Sequence[Any], header: Header) -> bool:
    """A multi-page export may repeat the header row; it is not an enterprise."""
    return _ALIASES.get(_key(_text(header.cell(cells, "credit_code")))) == "credit_code"


def _parse_row(
    cells: Sequence[Any],
    line: int,
    header: Header,
    regions: _Regions,
    default_region: Region | None,
    today: date,
) -> tuple[_Row | None, list[RowError]]:
    """Check every cell of one row; the row, or None and all its problems."""
    values: dict[str, Any] = {}
    column = header.shown
    row_check = RowCheck(cells, line, header)
    errors = row_check.errors

    def check(key: str, parse: Any, *args: Any) -> Any:
        return row_check(key, parse, *args, required=key in REQUIRED)

    name = check("name", _plain_text, "name")
    credit_code = check("credit_code", _credit_code)
    if name:
        values["name"] = name
    for key, attr, parser, extra in (
        ("address", "address", _plain_text, ("address",)),
        ("dust_workers", "dust_workers", _count, ()),
        ("main_person", "main_person", _plain_text, ("main_person",)),
        ("phone", "main_person_phone", _phone, ()),
        ("established_on", "established_on", parse_date, (today,)),
    ):
        parsed = check(key, parser, *extra)
        if parsed is not None and parsed != "":
            values[attr] = parsed

    lon = check("lon", _coordinate, "lon")
    lat = check("lat", _coordinate, "lat")
    lon_blank = _is_blank(header.cell(cells, "lon"))
    lat_blank = _is_blank(header.cell(cells, "lat"))
    if lon_blank != lat_blank:
        errors.append(RowError.of(line, column("lat" if lat_blank else "lon"), value_missing()))
    elif lon is not None and lat is not None:
        values["lon"], values["lat"] = lon, lat

    sectors: dict[Sector, bool] = {}
    if "sectors" in header.columns:
        listed, problems = _sector_list(header.cell(cells, "sectors"))
        errors.extend(RowError.of(line, column("sectors"), p) for p in problems)
        sectors = {s: s in listed for s in Sector}
    for sector in Sector:
        key = f"sector:{sector.value}"
        if key in header.columns:
            flag = check(key, _flag)
            # Sector flags are the one place where blank means "no"; a list column and flags combine.
            sectors[sector] = bool(flag) or sectors.get(sector, False)

    region: Region | None = default_region
    region_raw = header.cell(cells, "region")
    if not _is_blank(region_raw):
        try:
            region = regions.find(region_raw)
        except Problem as problem:
            errors.append(RowError.of(line, column("region"), problem, region_raw))

    if errors or credit_code is None:
        return None, errors
    return _Row(line, credit_code, values, sectors, region, column("region")), []


# --- The import -----------------------------------------------------------------------------------------------


def _load_rows(path: Path) -> tuple[list[list[Any]], Header]:
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        hint_zh = "；旧版 .xls 请在 Excel 中另存为 .xlsx" if suffix == ".xls" else ""
        hint_en = "; save an old .xls as .xlsx in Excel" if suffix == ".xls" else ""
        raise file_invalid(
            f"不支持的文件类型“{suffix or path.name}”，只接受 .xlsx 或 .csv{hint_zh}",
            f"unsupported file type '{suffix or path.name}'; only .xlsx or .csv{hint_en}",
        )
    sheets = read_tables(path, path.name, lambda rows: find_header(rows, _SPEC).found)
    rows, header = first_header(sheets, _SPEC)
    if header.found:
        return rows, header
    missing = "、".join(header.missing())
    raise file_invalid(
        f"前 {HEADER_SEARCH_ROWS} 行中找不到表头，缺少必需的列：{missing}"
        f"（表头须同时含“企业名称”和“统一社会信用代码”）",
        f"no header row in the first {HEADER_SEARCH_ROWS} rows; missing required column(s): {missing} "
        f"(the header must name both 企业名称 and 统一社会信用代码)",
    )


def _existing(session: DbSession, codes: Iterable[str]) -> dict[str, Enterprise]:
    """The stored enterprises with these credit codes, deleted ones included."""
    found: dict[str, Enterprise] = {}
    pending = sorted(set(codes))
    # Chunks keep the IN list under every database's bound-parameter limit.
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        for enterprise in session.scalars(sa.select(Enterprise).where(Enterprise.credit_code.in_(chunk))):
            found[enterprise.credit_code] = enterprise
    return found


def _changes(enterprise: Enterprise, row: _Row) -> dict[str, Any]:
    """The attributes the row would change on a stored enterprise."""
    changes = {attr: value for attr, value in row.values.items() if getattr(enterprise, attr) != value}
    for sector, flag in row.sectors.items():
        column = f"sector_{sector.value}"
        if bool(getattr(enterprise, column)) != flag:
            changes[column] = flag
    if row.region is not None and enterprise.region_id != row.region.id:
        changes["region"] = row.region
    if enterprise.deleted_at is not None:
        # The registry lists it again, so it is back under supervision.
        changes["deleted_at"] = None
    return changes


def import_enterprises(
    session: DbSession,
    path: Path,
    *,
    default_region_code: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> ImportReport:
    """Import or update enterprises from an .xlsx or .csv registry; bad rows are reported, never half-written.

    ``progress(done, total, stage)`` hears how far it got (stages "reading", "checking", "writing")."""
    step = progress or (lambda _done, _total, _stage: None)
    step(0, None, "reading")
    report = ImportReport(source=path.name, dry_run=dry_run, strict=strict)
    regions = _Regions(session)
    default_region: Region | None = None
    if default_region_code:
        default_region = regions.by_code.get(default_region_code.strip())
        if default_region is None:
            raise region_unknown(value=default_region_code)

    rows, header = _load_rows(path)
    if "region" not in header.columns and default_region is None:
        raise file_invalid(
            "缺少“所属区域”列：请在文件中加上该列（区域代码或名称），或在导入时指定默认区域（--region）",
            "no 所属区域 (region) column: add one (region code or name), or give a default region (--region)",
        )
    if ("lon" in header.columns) != ("lat" in header.columns):
        raise file_invalid(
            "经度列和纬度列须同时存在", "the longitude and latitude columns must both be present"
        )
    report.notes.extend(header.notes())

    today = date.today()
    parsed: list[_Row] = []
    data_rows = len(rows) - header.index - 1
    for index in range(header.index + 1, len(rows)):
        step(index - header.index - 1, data_rows, "checking")
        cells = rows[index]
        if all(_is_blank(c) for c in cells) or _is_total_row(cells, header):
            continue
        if _is_repeated_header(cells, header):
            continue
        row, errors = _parse_row(cells, index + 1, header, regions, default_region, today)
        report.errors.extend(errors)
        if row is not None:
            parsed.append(row)

    lines_by_code: dict[str, list[int]] = defaultdict(list)
    for index in range(header.index + 1, len(rows)):
        cells = rows[index]
        raw = header.cell(cells, "credit_code")
        if _is_blank(raw) or _is_repeated_header(cells, header):
            continue
        try:
            lines_by_code[validate_credit_code(_text(raw))].append(index + 1)
        except InvalidCreditCode:
            continue
    credit_column = header.columns["credit_code"][1]
    for code, lines in lines_by_code.items():
        if len(lines) > 1:
            problem = credit_code_repeated(value=code, rows=", ".join(map(str, lines)))
            report.errors.extend(RowError.of(line, credit_column, problem, code) for line in lines)
    parsed = [row for row in parsed if len(lines_by_code[row.credit_code]) == 1]

    stored = _existing(session, (row.credit_code for row in parsed))
    good: list[_Row] = []
    for row in parsed:
        if row.credit_code not in stored and row.region is None:
            report.errors.append(RowError.of(row.line, row.region_column, value_missing()))
        else:
            good.append(row)

    write = report.written
    for position, row in enumerate(good):
        step(position, len(good), "writing")
        enterprise = stored.get(row.credit_code)
        if enterprise is None:
            report.created += 1
            if write:
                _create(session, row)
            continue
        changes = _changes(enterprise, row)
        if not changes:
            report.unchanged += 1
            continue
        report.updated += 1
        if write:
            for attr, value in changes.items():
                setattr(enterprise, attr, value)
            enterprise.row_version += 1
    if write:
        session.flush()
    return report


def _create(session: DbSession, row: _Row) -> Enterprise:
    assert row.region is not None  # rows without a region were refused above
    enterprise = Enterprise(credit_code=row.credit_code, region=row.region, **row.values)
    enterprise.sectors = {s for s, flag in row.sectors.items() if flag}
    session.add(enterprise)
    # The token row needs the enterprise's id, which the flush assigns.
    session.flush()
    issue_token(session, enterprise)
    return enterprise
