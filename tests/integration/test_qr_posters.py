"""QR posters: PNG per enterprise, HTML and PDF sheets, re-issuing (server.documents.posters)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from server.documents.posters import HEIGHT, WIDTH, PosterResult, qr_matrix, write_posters
from server.domain.credit_code import make_credit_code
from server.extensions import db
from server.models import Enterprise
from server.models.base import utcnow
from server.services.qr import ensure_token, payload_for, resolve
from sync.problems import Problem
from tests.conftest import add_county_regions

pytestmark = pytest.mark.integration

STEEL = make_credit_code("9", "1", "141123", "MA0K0001")
ALUMINIUM = make_credit_code("9", "1", "141123", "MA0K0002")
DUST = make_credit_code("9", "1", "141123", "MA0K0003")
CLOSED = make_credit_code("9", "1", "141123", "MA0K0004")


@pytest.fixture
def app(empty_app: Flask) -> Iterator[Flask]:
    """An app on an empty migrated database with a city, 兴县 and its zone, and four enterprises."""
    application = empty_app
    with application.app_context():
        _city, county, zone = add_county_regions(db.session)
        db.session.add_all(
            [
                Enterprise(name="兴县宏达钢铁有限公司", credit_code=STEEL, region=county),
                Enterprise(
                    name="山西兴县华兴铝业有限公司第二铝加工深井铸造分厂（兴县经济技术开发区东区）",
                    credit_code=ALUMINIUM,
                    region=zone,
                ),
                Enterprise(name="兴县鑫源粉末冶金有限公司", credit_code=DUST, region=county),
                Enterprise(name="已关停企业", credit_code=CLOSED, region=county, deleted_at=utcnow()),
            ]
        )
        db.session.commit()
    yield application


def by_code(credit_code: str) -> Enterprise:
    """The stored enterprise with this credit code."""
    found = db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == credit_code))
    assert found is not None
    return found


def run(out_dir: Path, reissue: list[str] | None = None) -> PosterResult:
    """Write the posters and commit, as the command does."""
    result = write_posters(db.session, out_dir, reissue=reissue or [])
    db.session.commit()
    return result


def test_a_poster_for_every_enterprise_ordered_by_region_then_name(ctx: None, tmp_path: Path) -> None:
    out = tmp_path / "posters"
    result = run(out)

    # 141123 (兴县) before 141123-01 (its zone); by name inside a region; the closed one left out.
    assert [p.credit_code for p in result.posters] == [STEEL, DUST, ALUMINIUM]
    assert sorted(result.issued) == sorted([STEEL, DUST, ALUMINIUM])
    for credit_code in (STEEL, ALUMINIUM, DUST):
        with Image.open(out / f"{credit_code}.png") as image:
            assert image.format == "PNG" and image.size == (WIDTH, HEIGHT) and image.mode == "L"
            assert round(image.info["dpi"][0]) == 213
    assert not (out / f"{CLOSED}.png").exists()
    assert by_code(CLOSED).qr_token is None
    text = result.as_text()
    assert "3" in text and "sheet.html" in text and "sheet.pdf" in text


def test_each_png_carries_the_qr_code_of_its_payload(ctx: None, tmp_path: Path) -> None:
    result = run(tmp_path / "posters")

    for poster in result.posters:
        enterprise = by_code(poster.credit_code)
        # ECDSA signatures are randomised, so a fresh payload differs in its signature only.
        fresh = payload_for(enterprise)
        assert poster.payload.rsplit("/", 1)[0] == fresh.rsplit("/", 1)[0]
        assert poster.token == enterprise.qr_token
        resolved = resolve(db.session, poster.payload)
        assert resolved.enterprise.credit_code == poster.credit_code and resolved.token == poster.token
        # No QR decoder is installed: regenerate the code and compare every module's centre pixel.
        matrix = qr_matrix(poster.payload)
        assert poster.qr_side == len(matrix) * poster.module_px
        assert poster.module_px >= 10  # big enough to scan from a metre away when printed at A5
        with Image.open(poster.path) as image:
            pixels = image.load()
            assert pixels is not None
            for r, row in enumerate(matrix):
                for c, dark in enumerate(row):
                    x = poster.qr_left + c * poster.module_px + poster.module_px // 2
                    y = poster.qr_top + r * poster.module_px + poster.module_px // 2
                    value = pixels[x, y]
                    assert isinstance(value, int)
                    assert (value < 128) == dark, (poster.credit_code, r, c)


def test_a_second_run_keeps_tokens_and_reissue_revokes_the_old_code(ctx: None, tmp_path: Path) -> None:
    first = run(tmp_path / "one")
    old = {p.credit_code: p.payload for p in first.posters}
    old_tokens = {p.credit_code: p.token for p in first.posters}

    second = run(tmp_path / "two")
    assert {p.credit_code: p.token for p in second.posters} == old_tokens and second.issued == []

    third = run(tmp_path / "three", reissue=[STEEL.lower()])
    assert third.reissued == [STEEL]
    new = {p.credit_code: p.payload for p in third.posters}
    new_tokens = {p.credit_code: p.token for p in third.posters}
    assert new_tokens[STEEL] != old_tokens[STEEL]
    assert new_tokens[DUST] == old_tokens[DUST] and new_tokens[ALUMINIUM] == old_tokens[ALUMINIUM]
    # The old posters of the others still scan.
    assert resolve(db.session, old[DUST]).enterprise.credit_code == DUST
    with pytest.raises(Problem) as revoked:
        resolve(db.session, old[STEEL])
    assert revoked.value.code == "409.3"
    assert resolve(db.session, new[STEEL]).enterprise.credit_code == STEEL
    assert "re-issued" in third.as_text() and STEEL in third.as_text()


def test_unknown_or_deleted_credit_code_in_reissue_is_refused(ctx: None, tmp_path: Path) -> None:
    unknown = make_credit_code("9", "1", "141123", "MA0K0099")
    out = tmp_path / "posters"

    for code in (unknown, CLOSED):
        with pytest.raises(Problem) as caught:
            write_posters(db.session, out, reissue=[STEEL, code])
        assert caught.value.code == "404.20" and code in caught.value.message("zh")
    # Refused before anything was issued or written.
    assert by_code(STEEL).qr_token is None and not out.exists()


def test_pdf_has_one_page_per_enterprise(ctx: None, tmp_path: Path) -> None:
    result = run(tmp_path / "posters")

    assert result.sheet_pdf is not None
    data = result.sheet_pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 3


def test_html_sheet_references_every_png_and_has_no_script(ctx: None, tmp_path: Path) -> None:
    result = run(tmp_path / "posters")

    assert result.sheet_html is not None
    page = result.sheet_html.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources == [f"{p.credit_code}.png" for p in result.posters]
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page and "url(" not in page
    assert "@page" in page and "break-after: page" in page
    assert page.count('<section class="page">') == 2  # two posters per page


def test_font_setting(app: Flask, tmp_path: Path) -> None:
    import noto_cjk_sans_otc

    not_a_font = tmp_path / "not-a-font.ttf"
    not_a_font.write_bytes(b"\x00" * 64)
    with app.app_context():
        app.config["CJK_FONT"] = str(not_a_font)
        with pytest.raises(Problem) as caught:
            write_posters(db.session, tmp_path / "a", reissue=[])
        assert caught.value.code == "500.20" and "CJK_FONT" in caught.value.message("zh")
        assert by_code(STEEL).qr_token is None

        app.config["CJK_FONT"] = str(noto_cjk_sans_otc.FONT_PATH)
        result = write_posters(db.session, tmp_path / "b", reissue=[])
        assert result.font == "NotoSansCJK-Regular.ttc" and len(result.posters) == 3


def test_existing_tokens_are_kept(ctx: None, tmp_path: Path) -> None:
    steel = by_code(STEEL)
    token = ensure_token(db.session, steel)
    db.session.commit()

    result = run(tmp_path / "posters")

    assert by_code(STEEL).qr_token == token
    assert STEEL not in result.issued
    assert next(p for p in result.posters if p.credit_code == STEEL).token == token
