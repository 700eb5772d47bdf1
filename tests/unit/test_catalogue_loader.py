"""Tests for the catalogue loader and the default catalogue file."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from server.catalogue.loader import (
    DEFAULT_CATALOGUE,
    CatalogueError,
    CatalogueProblem,
    CatalogueSpec,
    Section,
    Verification,
    default_catalogue_path,
    load_catalogue_file,
    parse_catalogue,
)
from server.domain.applicability import ApplicabilityRule, EnterpriseProfile, applicable_items
from server.domain.hazards import HazardLevel
from server.domain.sectors import Sector

DEFAULT_TEXT = default_catalogue_path().read_text(encoding="utf-8")

# Exact texts from the reference notes on the checklist sources.
REFERENCE_TEXTS = {
    "ST-1": "炼钢厂在吊运铁水、钢水或液渣时，未使用固定式龙门钩的铸造起重机；"
    "炼铁厂铸铁车间吊运铁水、液渣起重机不符合冶金起重机的相关要求。",
    "ST-8": "使用国家明令禁止使用的设备、材料和工艺。",
    "AL-3": "铝加工深井铸造工艺的结晶器冷却水系统未设置进水压力、进水流量监测报警装置，"
    "或者监测报警装置未与快速切断阀、紧急排放阀、流槽断开装置联锁，"
    "或者监测报警装置未与倾动式浇铸炉控制系统联锁的。",
    "AL-7": "铝加工深井铸造机钢丝卷扬系统选用非钢芯钢丝绳，或者未落实钢丝绳定期检查、更换制度的。",
    "DU-1": "不同种类的可燃性粉尘、可燃性粉尘与可燃气体等易加剧爆炸危险的介质共用一套除尘系统，"
    "不同防火分区的除尘系统互联互通。",
    "DU-6": "未按规范制定粉尘清理制度，作业现场和相关设备设施积尘未及时规范清扫；"
    "铝镁等金属粉尘的收集、贮存等处置环节未落实防水防潮、通风、氢气监测等必要的防爆措施。",
    "CS-2": "未在有限空间作业场所设置明显的安全警示标志。",
    "HW-1": "未参照《危险化学品企业特殊作业安全规范》完善易燃易爆区域动火、进入有限空间、盲板抽堵等"
    "危险作业管理制度，或者未严格执行危险作业审批和作业前安全条件确认。",
}


@pytest.fixture(scope="module")
def default() -> CatalogueSpec:
    return load_catalogue_file(default_catalogue_path())


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[nth - 1]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def in_block(text: str, code: str, old: str, new: str) -> str:
    """Replace the first `old` after the item with `code`."""
    start = text.index(f'code = "{code}"')
    at = text.index(old, start)
    return text[:at] + new + text[at + len(old) :]


def refused(text: str) -> list[CatalogueProblem]:
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(text, "bad.toml")
    return err.value.problems


# --- the default catalogue ----------------------------------------------------------------


def test_default_path() -> None:
    assert default_catalogue_path().name == DEFAULT_CATALOGUE
    assert default_catalogue_path().is_file()


def test_default_header(default: CatalogueSpec) -> None:
    assert default.code == "yejin-gongmao-2022"
    assert default.version == 1
    assert default.title == "冶金工贸行业安全生产大检查大整治大提升重点检查事项"
    assert default.effective_from == date(2022, 5, 2)
    assert default.effective_to is None
    assert "21" in default.notes and "25" in default.notes and "重构" in default.notes
    assert default.sha256 == hashlib.sha256(DEFAULT_TEXT.encode("utf-8")).hexdigest()


def test_default_five_terms(default: CatalogueSpec) -> None:
    assert default.five_terms == (
        ("responsible_person", "责任人"),
        ("measures", "整改措施"),
        ("deadline", "整改期限"),
        ("completed_by", "整改完成人"),
        ("accepted_by", "验收人"),
    )


def test_default_has_25_key_items(default: CatalogueSpec) -> None:
    key = default.key_items
    assert len(key) == 25
    assert Counter(i.sector for i in key) == {
        "steel": 8,
        "aluminium_casting": 7,
        "dust_explosion": 6,
        "confined_space": 3,
        "hazardous_work": 1,
    }
    expected = (
        [f"ST-{n}" for n in range(1, 9)]
        + [f"AL-{n}" for n in range(1, 8)]
        + [f"DU-{n}" for n in range(1, 7)]
        + ["CS-1", "CS-2", "CS-3", "HW-1"]
    )
    assert [i.code for i in key] == expected


def test_default_management_items(default: CatalogueSpec) -> None:
    mg = default.management_items
    assert [i.code for i in mg] == [f"MG-{n}" for n in range(1, 7)]
    assert all(i.sector == "management" and i.section is Section.management for i in mg)
    assert default.item("MG-2").applies_when == ApplicabilityRule(frozenset({Sector.major_hazard_source}))
    others = [i for i in mg if i.code != "MG-2"]
    assert all(i.applies_when == ApplicabilityRule() for i in others)
    assert "七项" in default.item("MG-1").text
    assert "五统一" in default.item("MG-4").text


@pytest.mark.parametrize("code", sorted(REFERENCE_TEXTS))
def test_texts_match_reference(default: CatalogueSpec, code: str) -> None:
    assert default.item(code).text == REFERENCE_TEXTS[code]


def test_national_items_are_major_with_provenance(default: CatalogueSpec) -> None:
    national = [i for i in default.key_items if i.code[:2] in ("ST", "AL", "DU")]
    assert len(national) == 21
    assert all(i.default_level is HazardLevel.major for i in national)
    assert all(i.source and i.legal_basis for i in default.items)
    by_prefix = {i.code[:2]: i for i in default.items}
    assert by_prefix["ST"].verification is Verification.single_mirror
    assert by_prefix["AL"].verification is Verification.successor_standard
    assert by_prefix["DU"].verification is Verification.concordant_mirrors
    assert by_prefix["CS"].verification is Verification.reconstruction
    assert by_prefix["HW"].verification is Verification.reconstruction
    assert by_prefix["MG"].verification is Verification.reconstruction
    assert "〔2017〕129号" in default.item("ST-1").legal_basis
    assert "〔2017〕129号" in default.item("DU-1").legal_basis
    assert "应急管理部令第10号" in default.item("AL-1").legal_basis
    assert "第五条" in default.item("AL-1").legal_basis
    assert "GB 30871-2022" in default.item("HW-1").legal_basis
    assert "参照" in default.item("HW-1").legal_basis


def test_dust_items_require_ten_workers(default: CatalogueSpec) -> None:
    dust = [i for i in default.items if i.sector == "dust_explosion"]
    assert len(dust) == 6
    for item in dust:
        assert item.applies_when == ApplicabilityRule(frozenset({Sector.dust_explosion}), min_dust_workers=10)


def test_applicability_of_the_default_catalogue(default: CatalogueSpec) -> None:
    def codes(*sectors: Sector, dust: int | None = None) -> list[str]:
        profile = EnterpriseProfile(frozenset(sectors), dust)
        return [i.code for i in applicable_items(default.key_items, profile, lambda i: i.applies_when)]

    assert codes(Sector.dust_explosion, dust=9) == []
    assert codes(Sector.dust_explosion, dust=10) == [f"DU-{n}" for n in range(1, 7)]
    assert len(codes(Sector.steel, Sector.confined_space)) == 11
    assert codes() == []


def test_ordinals_follow_file_order(default: CatalogueSpec) -> None:
    assert [i.ordinal for i in default.items] == list(range(1, len(default.items) + 1))


def test_item_lookup_unknown_code(default: CatalogueSpec) -> None:
    with pytest.raises(KeyError):
        default.item("ZZ-1")


def test_parse_is_deterministic(default: CatalogueSpec) -> None:
    assert parse_catalogue(DEFAULT_TEXT) == default


def test_load_tolerates_bom_and_refuses_bad_utf8(tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + DEFAULT_TEXT.encode("utf-8"))
    assert len(load_catalogue_file(with_bom).key_items) == 25
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"# ok\n# ok\n\xff\xfe\n" + DEFAULT_TEXT.encode("utf-8"))
    with pytest.raises(CatalogueError) as err:
        load_catalogue_file(bad)
    assert err.value.problems[0].line == 3
    assert "UTF-8" in str(err.value)
    assert "bad.toml:3" in str(err.value)


def test_a_county_can_replace_a_text() -> None:
    official = "（官方原文）使用国家明令禁止使用的设备、材料和工艺。"
    text = replace_once(DEFAULT_TEXT, REFERENCE_TEXTS["ST-8"], official)
    text = replace_once(text, "version = 1", "version = 2")
    spec = parse_catalogue(text)
    assert spec.item("ST-8").text == official
    assert spec.version == 2
    assert spec.sha256 != hashlib.sha256(DEFAULT_TEXT.encode()).hexdigest()


def test_effective_to_is_read() -> None:
    text = replace_once(
        DEFAULT_TEXT, "effective_from = 2022-05-02", "effective_from = 2022-05-02\neffective_to = 2022-11-30"
    )
    assert parse_catalogue(text).effective_to == date(2022, 11, 30)


# --- refused files -----------------------------------------------------------------------


def test_toml_syntax_error_names_the_line() -> None:
    text = replace_once(DEFAULT_TEXT, 'code = "ST-3"', 'code = "ST-3')
    [problem] = refused(text)
    assert problem.line == line_of(text, 'code = "ST-3')
    assert "TOML syntax error" in problem.message


def test_missing_item_key() -> None:
    text = in_block(DEFAULT_TEXT, "ST-2", 'default_level = "major"\n', "")
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (1, "ST-2")
    assert problem.line == line_of(text, 'code = "ST-2"')
    assert "missing key 'default_level'" in problem.message


def test_unknown_item_key() -> None:
    text = in_block(DEFAULT_TEXT, "AL-1", 'section = "key"', 'section = "key"\ncolour = "red"')
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (8, "AL-1")
    assert problem.line == line_of(text, 'colour = "red"')
    assert "unknown key 'colour'" in problem.message


def test_wrong_type() -> None:
    text = in_block(DEFAULT_TEXT, "ST-5", 'default_level = "major"', "default_level = 3")
    [problem] = refused(text)
    assert problem.item_code == "ST-5"
    assert problem.line == line_of(text, "default_level = 3")
    assert "default_level must be a string" in problem.message


def test_wrong_header_type() -> None:
    text = replace_once(DEFAULT_TEXT, "version = 1", 'version = "1"')
    [problem] = refused(text)
    assert problem.item_index is None
    assert problem.line == line_of(text, 'version = "1"')
    assert "positive integer" in problem.message


def test_empty_text() -> None:
    text = replace_once(DEFAULT_TEXT, f'text = "{REFERENCE_TEXTS["DU-1"]}"', 'text = "  "')
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (15, "DU-1")
    assert problem.line == line_of(text, 'text = "  "')
    assert "text must not be empty" in problem.message


def test_duplicate_code() -> None:
    text = replace_once(DEFAULT_TEXT, 'code = "ST-4"', 'code = "ST-3"')
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (3, "ST-3")
    first, second = line_of(text, 'code = "ST-3"'), line_of(text, 'code = "ST-3"', 2)
    assert problem.line == second
    assert f"first at line {first}" in problem.message


@pytest.mark.parametrize("bad", ["st-1", "ST1", "STE-1", "ST-", "ST-١"])
def test_bad_code_format(bad: str) -> None:
    text = replace_once(DEFAULT_TEXT, 'code = "ST-1"', f'code = "{bad}"')
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (0, bad)
    assert problem.line == line_of(text, f'code = "{bad}"')
    assert "does not look like 'ST-1'" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('section = "key"', 'section = "keys"', "unknown section 'keys'"),
        ('sector = "aluminium_casting"', 'sector = "aluminum"', "unknown sector 'aluminum'"),
        ('default_level = "major"', 'default_level = "severe"', "unknown default_level 'severe'"),
        ('verification = "successor_standard"', 'verification = "checked"', "unknown verification 'checked'"),
        ('sector = "aluminium_casting"', 'sector = "management"', "does not fit section 'key'"),
    ],
)
def test_unknown_enumerated_values(old: str, new: str, needle: str) -> None:
    text = in_block(DEFAULT_TEXT, "AL-2", old, new)
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (9, "AL-2")
    assert problem.line == line_of(text, new)
    assert needle in problem.message


@pytest.mark.parametrize(
    ("new", "needle"),
    [
        ('{ sectors_any = ["dust"], min_dust_workers = 10 }', "unknown sector 'dust'"),
        ('{ sectors_any = ["dust_explosion"], min_dust_workers = -10 }', "must not be negative"),
        ('{ sectors_any = ["dust_explosion"], min_workers = 10 }', "unknown key(s) 'min_workers'"),
        ('{ sectors_any = "dust_explosion" }', "must be a list"),
        ('"dust_explosion"', "must be a table"),
    ],
)
def test_bad_applies_when(new: str, needle: str) -> None:
    old = 'applies_when = { sectors_any = ["dust_explosion"], min_dust_workers = 10 }'
    text = in_block(DEFAULT_TEXT, "DU-3", old, f"applies_when = {new}")
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (17, "DU-3")
    assert problem.line == line_of(text, f"applies_when = {new}")
    assert "bad applies_when" in problem.message and needle in problem.message


def test_effective_to_before_effective_from() -> None:
    text = replace_once(
        DEFAULT_TEXT, "effective_from = 2022-05-02", "effective_from = 2022-05-02\neffective_to = 2022-05-01"
    )
    [problem] = refused(text)
    assert problem.line == line_of(text, "effective_to = 2022-05-01")
    assert "before effective_from" in problem.message


def test_effective_from_must_be_a_date() -> None:
    text = replace_once(DEFAULT_TEXT, "effective_from = 2022-05-02", "effective_from = 2022-05-02T08:00:00")
    [problem] = refused(text)
    assert problem.line == line_of(text, "effective_from =")
    assert "must be a date" in problem.message


def test_no_key_items() -> None:
    header = DEFAULT_TEXT[: DEFAULT_TEXT.index("[[items]]")]
    management = DEFAULT_TEXT[DEFAULT_TEXT.index('[[items]]\ncode = "MG-1"') :]
    problems = refused(header + management)
    assert [p.message for p in problems] == ['the catalogue has no key items (section = "key")']


def test_no_items_at_all() -> None:
    header = DEFAULT_TEXT[: DEFAULT_TEXT.index("[[items]]")]
    [problem] = refused(header)
    assert "no [[items]]" in problem.message


def test_header_problems() -> None:
    text = replace_once(DEFAULT_TEXT, 'title = "', 'titel = "')
    text = replace_once(text, "\n[catalogue]\n", "\nowner = 'x'\n[catalogue]\n")
    problems = refused(text)
    messages = {p.message: p.line for p in problems}
    owner = messages["unknown top-level key or table 'owner' (allowed: [catalogue], [[items]])"]
    assert owner == line_of(text, "owner = 'x'")
    unknown = next(line for m, line in messages.items() if "unknown key 'titel'" in m)
    assert unknown == line_of(text, "titel =")
    missing = next(line for m, line in messages.items() if "missing 'title'" in m)
    assert missing == text.splitlines().index("[catalogue]") + 1


def test_missing_catalogue_table() -> None:
    text = replace_once(DEFAULT_TEXT, "\n[catalogue]\n", "\n[catalog]\n")
    messages = [p.message for p in refused(text)]
    assert "missing [catalogue] table" in messages
    assert any("'catalog'" in m for m in messages)


def test_bad_five_terms() -> None:
    text = replace_once(
        DEFAULT_TEXT, '{ key = "measures", label = "整改措施" }', '{ key = "deadline", label = "整改措施" }'
    )
    [problem] = refused(text)
    assert "duplicate key 'deadline'" in problem.message
    assert problem.line == line_of(text, "five_terms = [")


def test_all_problems_are_reported_together() -> None:
    text = in_block(DEFAULT_TEXT, "ST-6", 'sector = "steel"', 'sector = "stel"')
    text = in_block(text, "AL-4", 'default_level = "major"', 'default_level = "big"')
    text = replace_once(text, 'code = "MG-6"', 'code = "MG-5"')
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(text, "county.toml")
    problems = err.value.problems
    assert [p.item_code for p in problems] == ["ST-6", "AL-4", "MG-5"]
    message = str(err.value)
    assert "3 problem(s)" in message
    sector_line = line_of(text, 'sector = "stel"')
    level_line = line_of(text, 'default_level = "big"')
    assert f"county.toml:{sector_line}: item #6 (ST-6): unknown sector 'stel'" in message
    assert f"county.toml:{level_line}: item #12 (AL-4): unknown default_level 'big'" in message


def test_inline_array_items_still_name_lines() -> None:
    rest = 'section = "key", text = "t", default_level = "major", legal_basis = "", source = "s"'
    text = f"""
items = [
  {{ code = "AA-1", sector = "steel", {rest}, verification = "official" }},
  {{ code = "AA-2", sector = "steal", {rest}, verification = "official" }},
]

[catalogue]
code = "x"
version = 1
title = "t"
source = "s"
effective_from = 2022-05-02
five_terms = [{{ key = "deadline", label = "整改期限" }}]
"""
    [problem] = refused(text)
    assert (problem.item_index, problem.item_code) == (1, "AA-2")
    assert problem.line == line_of(text, '"AA-2"')


def test_items_key_inside_catalogue_table_gets_a_hint() -> None:
    text = replace_once(DEFAULT_TEXT, "five_terms = [", "items = []\nfive_terms = [")
    [problem] = refused(text)
    assert problem.line == line_of(text, "items = []")
    assert "write items as [[items]]" in problem.message


def test_minimal_catalogue_loads() -> None:
    text = """
[catalogue]
code = "county-x-2023"
version = 3
title = "t"
source = "s"
effective_from = 2023-05-15
five_terms = [{ key = "deadline", label = "整改期限" }]

[[items]]
code = "AA-1"
section = "key"
sector = "gas_area"
text = " 文本 "
default_level = "general"
legal_basis = ""
source = "s"
verification = "official"
"""
    spec = parse_catalogue(text)
    assert spec.notes == ""
    assert spec.item("AA-1").text == "文本"
    assert spec.item("AA-1").applies_when == ApplicabilityRule()
