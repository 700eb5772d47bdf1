"""Printable QR posters: one PNG per enterprise, plus one sheet of them all as HTML and as PDF.

A poster is A5 portrait (1240 × 1748 px, stored at 212 dpi so it prints at A5), greyscale, since
office laser printers are greyscale and a QR code wants full contrast. The HTML sheet puts two posters
side by side on an A4 landscape page; the PDF has one A5 page per poster.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import qrcode
import sqlalchemy as sa
from flask import current_app
from PIL import Image, ImageDraw, ImageFont

from server.domain.credit_code import normalize_credit_code
from server.errors import cjk_font_missing, poster_enterprise_unknown  # raised here, defined in the catalogue
from server.models import Enterprise, QrToken, Region
from server.services import DbSession
from server.services.qr import ensure_token, issue_token, payload_for

WIDTH, HEIGHT = 1240, 1748
#: 1240 px across A5's 148 mm.
DPI = 212.8
MARGIN = 80
HEADING = "企业安全检查二维码"
FOOTER = ("执法人员请用检查应用扫码", "伪造、涂改无效")
QR_BORDER = 4
QR_MAX_SIDE = 940
#: Posters are dated in China Standard Time (no daylight saving, so a fixed offset is exact).
CHINA_TIME = timezone(timedelta(hours=8), "CST")

SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


@dataclass(frozen=True)
class Poster:
    """One enterprise's poster: where it is, what its QR code says, and where the code sits in the PNG."""

    credit_code: str
    name: str
    path: Path
    payload: str
    token: str
    #: Left, top and side of the QR code in the PNG, quiet zone included, and the pixels per module.
    qr_left: int
    qr_top: int
    qr_side: int
    module_px: int


@dataclass
class PosterResult:
    """What a poster run wrote."""

    out_dir: Path
    posters: list[Poster] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    reissued: list[str] = field(default_factory=list)
    sheet_html: Path | None = None
    sheet_pdf: Path | None = None
    font: str = ""

    def as_text(self) -> str:
        """A short summary for the command line."""
        lines = [
            f"已生成二维码海报 {len(self.posters)} 张（首次签发 {len(self.issued)}，重新签发 {len(self.reissued)}）"
            f" / wrote {len(self.posters)} posters ({len(self.issued)} first issued, "
            f"{len(self.reissued)} re-issued)",
            f"输出目录 / output folder: {self.out_dir}",
        ]
        sheets = [p.name for p in (self.sheet_html, self.sheet_pdf) if p is not None]
        if sheets:
            lines.append(f"打印页 / print sheets: {', '.join(sheets)}")
        if self.reissued:
            lines.append(
                "已重新签发，旧二维码作废，请张贴新海报 / re-issued, old codes revoked, post the new posters: "
                + ", ".join(self.reissued)
            )
        if not self.posters:
            lines.append("没有企业，未生成海报 / no enterprises, no posters")
        return "\n".join(lines)


# --- Fonts ----------------------------------------------------------------------------------------------


def _simplified_face(path: str) -> int | None:
    """The index of the face to use in a font file: the Simplified Chinese one of a collection, else 0;
    None when the file cannot be read or has no Chinese glyphs."""
    faces: list[tuple[int, str]] = []
    for index in range(64):
        try:
            font = ImageFont.truetype(path, 24, index=index)
        except OSError:
            break
        faces.append((index, " ".join(n for n in font.getname() if n)))
    if not faces:
        return None
    chosen = next((i for i, name in faces if "SC" in name.split()), None)
    if chosen is None:
        chosen = next((i for i, name in faces if "SC" in name), faces[0][0])
    return chosen if _has_cjk(ImageFont.truetype(path, 24, index=chosen)) else None


def _has_cjk(font: ImageFont.FreeTypeFont) -> bool:
    """True when the font draws 企 as something other than its missing-glyph box."""
    # A private-use code point no text font maps: it renders as the .notdef box, as would 企 if missing.
    return _glyph(font, "企") != _glyph(font, "\U000f0000")


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    canvas = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(canvas).text((8, 8), char, font=font, fill=255)
    return canvas.tobytes()


def find_cjk_font() -> tuple[str, int]:
    """The font file and face index to draw Chinese with: CJK_FONT, the bundled Noto, system fonts."""
    configured = str(current_app.config.get("CJK_FONT") or "").strip()
    if configured:
        index = _simplified_face(configured) if Path(configured).is_file() else None
        if index is None:
            raise cjk_font_missing(searched=f"CJK_FONT={configured}")
        return configured, index
    candidates: list[str] = []
    try:
        import noto_cjk_sans_otc

        candidates.append(str(noto_cjk_sans_otc.FONT_PATH))
    except ImportError:
        pass
    candidates.extend(SYSTEM_FONTS)
    for candidate in candidates:
        if Path(candidate).is_file() and (index := _simplified_face(candidate)) is not None:
            return candidate, index
    raise cjk_font_missing(searched="CJK_FONT, noto_cjk_sans_otc, " + ", ".join(SYSTEM_FONTS))


class _Fonts:
    """The run's font, found once, with one FreeType instance per size."""

    def __init__(self) -> None:
        self.path, self.index = find_cjk_font()
        self._sizes: dict[int, ImageFont.FreeTypeFont] = {}

    def __call__(self, size: int) -> ImageFont.FreeTypeFont:
        if size not in self._sizes:
            self._sizes[size] = ImageFont.truetype(self.path, size, index=self.index)
        return self._sizes[size]


# --- Drawing ---------------------------------------------------------------------------------------------

#: Characters that must not start a line (Chinese typesetting's 避头点).
_NO_LINE_START = set("，。、；：？！）》」』】,.;:?!)")


def wrap_text(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break text into lines no wider than ``width``, character by character (Chinese has no spaces)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and font.getlength(current + char) > width:
            if char in _NO_LINE_START and len(current) > 1:
                # Carry the last character down with the punctuation rather than start a line with it.
                lines.append(current[:-1])
                current = current[-1]
            else:
                lines.append(current)
                current = ""
        current += char
    if current:
        lines.append(current)
    return lines


def _fit_name(name: str, fonts: _Fonts, width: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest size at which the name fits in three lines (four at the smallest size)."""
    for size in range(76, 43, -4):
        font = fonts(size)
        lines = wrap_text(name, font, width)
        if len(lines) <= 3:
            return font, lines
    font = fonts(44)
    return font, wrap_text(name, font, width)[:4]


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR code's modules for ``payload``, quiet zone included (error correction Q)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=1, border=QR_BORDER)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def _qr_image(matrix: list[list[bool]], module_px: int) -> Image.Image:
    """The code drawn exactly: whole pixels per module, no resampling blur."""
    size = len(matrix)
    small = Image.new("L", (size, size), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    return small.resize((size * module_px, size * module_px), Image.Resampling.NEAREST)


def _centered(
    draw: ImageDraw.ImageDraw, y: int, text: str, font: Any, fill: int = 0, bold: bool = False
) -> int:
    """Draw one centred line with its top at ``y``; returns the y below it."""
    draw.text(
        (WIDTH // 2, y),
        text,
        font=font,
        fill=fill,
        anchor="ma",
        stroke_width=1 if bold else 0,
        stroke_fill=fill,
    )
    return y + int(font.size * 1.3)


def draw_poster(
    fonts: _Fonts, *, name: str, credit_code: str, authority: str, issued_on: str, payload: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """One poster, and the QR code's left, top, side and module size within it."""
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, WIDTH - 41, HEIGHT - 41), outline=0, width=6)
    text_width = WIDTH - 2 * MARGIN - 20

    y = _centered(draw, 90, HEADING, fonts(84), bold=True)
    header_bottom = y + 10
    draw.line((MARGIN, header_bottom, WIDTH - MARGIN, header_bottom), fill=0, width=3)

    # Lay the text out from the bottom up, then give the QR code the space that is left.
    small = fonts(30)
    info = fonts(38)
    name_font, name_lines = _fit_name(name, fonts, text_width)
    info_lines = [
        f"统一社会信用代码：{credit_code}",
        f"签发单位：{authority}",
        f"签发日期：{issued_on}",
    ]
    footer_top = HEIGHT - 60 - int(small.size * 1.3) * len(FOOTER)
    info_top = footer_top - 30 - int(info.size * 1.3) * len(info_lines)
    name_top = info_top - 36 - int(name_font.size * 1.25) * len(name_lines)

    matrix = qr_matrix(payload)
    modules = len(matrix)
    room = min(name_top - header_bottom - 40, WIDTH - 2 * MARGIN, QR_MAX_SIDE)
    module_px = max(1, room // modules)
    side = modules * module_px
    qr_left = (WIDTH - side) // 2
    qr_top = header_bottom + 20 + (name_top - header_bottom - 40 - side) // 2
    image.paste(_qr_image(matrix, module_px), (qr_left, qr_top))

    y = name_top
    for line in name_lines:
        draw.text((WIDTH // 2, y), line, font=name_font, fill=0, anchor="ma")
        y += int(name_font.size * 1.25)
    y = info_top
    for line in info_lines:
        y = _centered(draw, y, line, info)
    y = footer_top
    for line in FOOTER:
        y = _centered(draw, y, line, small, fill=80)
    return image, (qr_left, qr_top, side, module_px)


def render_poster(
    *, name: str, credit_code: str, authority: str, issued_on: str, payload: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """One poster drawn with the configured Chinese font (needs an app context for CJK_FONT), and its QR box."""
    return draw_poster(
        _Fonts(),
        name=name,
        credit_code=credit_code,
        authority=authority,
        issued_on=issued_on,
        payload=payload,
    )


# --- Sheets ----------------------------------------------------------------------------------------------

_SHEET_CSS = """
@page { size: A4 landscape; margin: 8mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #fff; color: #000;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; }
.intro { margin: 12px; font-size: 14px; }
.page { display: flex; justify-content: space-around; align-items: center;
  height: 194mm; page-break-after: always; break-after: page; page-break-inside: avoid; }
.page:last-child { page-break-after: auto; break-after: auto; }
.page img { display: block; height: 194mm; width: auto; }
@media screen { .page { height: auto; margin: 16px 0; } .page img { height: 80vh; } }
@media print { .intro { display: none; } }
"""


def _write_html(path: Path, posters: list[Poster]) -> None:
    pages = []
    for start in range(0, len(posters), 2):
        images = "\n".join(
            f'    <img src="{html.escape(p.path.name)}" alt="{html.escape(p.name)} {p.credit_code}">'
            for p in posters[start : start + 2]
        )
        pages.append(f'  <section class="page">\n{images}\n  </section>')
    body = "\n".join(pages) if pages else '  <p class="intro">没有企业 / no enterprises</p>'
    document = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>企业安全检查二维码 打印页 / QR posters print sheet</title>
<style>{_SHEET_CSS}</style>
</head>
<body>
<p class="intro">共 {len(posters)} 张，A4 横向打印，每页两张（A5）/ {len(posters)} posters: print on A4 landscape,
two per page.</p>
{body}
</body>
</html>
"""
    _replace(path, document.encode("utf-8"))


def _replace(path: Path, data: bytes) -> None:
    """Write via a temporary file, so a half-written file never replaces a good one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def _save_png(path: Path, image: Image.Image) -> None:
    partial = path.with_name(f".{path.name}.partial")
    image.save(partial, format="PNG", dpi=(DPI, DPI), optimize=True)
    partial.replace(path)


# --- The run ---------------------------------------------------------------------------------------------


def _issue_date(session: DbSession, token: str) -> str:
    record = session.get(QrToken, token)
    issued = record.issued_at if record is not None else datetime.now(UTC)
    return issued.astimezone(CHINA_TIME).strftime("%Y年%m月%d日")


def write_posters(session: DbSession, out_dir: Path, *, reissue: list[str]) -> PosterResult:
    """Write every enterprise's poster, the HTML sheet and the PDF; re-issue the codes of ``reissue``."""
    enterprises = list(
        session.scalars(
            sa.select(Enterprise)
            .join(Region, Enterprise.region_id == Region.id)
            .where(Enterprise.deleted_at.is_(None))
            .order_by(Region.code, Enterprise.name, Enterprise.credit_code)
        )
    )
    by_code = {e.credit_code: e for e in enterprises}
    wanted = list(dict.fromkeys(normalize_credit_code(code) for code in reissue if code.strip()))
    unknown = [code for code in wanted if code not in by_code]
    if unknown:
        raise poster_enterprise_unknown(value="、".join(unknown))
    # The font is checked before any token changes, so a missing font leaves the database as it was.
    fonts = _Fonts()

    result = PosterResult(out_dir=out_dir, font=Path(fonts.path).name)
    for code in wanted:
        issue_token(session, by_code[code])
        result.reissued.append(code)
    for enterprise in enterprises:
        if not enterprise.qr_token:
            ensure_token(session, enterprise)
            result.issued.append(enterprise.credit_code)

    out_dir.mkdir(parents=True, exist_ok=True)
    default_authority = str(current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局")
    images: list[Image.Image] = []
    for enterprise in enterprises:
        token = ensure_token(session, enterprise)
        payload = payload_for(enterprise)
        authority = (
            enterprise.region.issuing_authority() if enterprise.region else None
        ) or default_authority
        image, (left, top, side, module_px) = draw_poster(
            fonts,
            name=enterprise.name,
            credit_code=enterprise.credit_code,
            authority=authority,
            issued_on=_issue_date(session, token),
            payload=payload,
        )
        path = out_dir / f"{enterprise.credit_code}.png"
        _save_png(path, image)
        images.append(image)
        result.posters.append(
            Poster(enterprise.credit_code, enterprise.name, path, payload, token, left, top, side, module_px)
        )

    result.sheet_html = out_dir / "sheet.html"
    _write_html(result.sheet_html, result.posters)
    pdf = out_dir / "sheet.pdf"
    if images:
        # The PDF holds every page in memory while it is written: about 2 MB per greyscale poster.
        partial = pdf.with_name(f".{pdf.name}.partial")
        images[0].save(
            partial, format="PDF", save_all=True, append_images=images[1:], resolution=DPI, quality=92
        )
        partial.replace(pdf)
        result.sheet_pdf = pdf
    else:
        pdf.unlink(missing_ok=True)
    return result
