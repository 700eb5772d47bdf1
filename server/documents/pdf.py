"""文书排版 / The enforcement documents laid out as A4 PDFs with fpdf2: Chinese text, signatures, photos, QR code.

The text is embedded as real text in a TrueType subset of Noto Sans CJK SC (see ``fonts``), so it can be
searched, copied and extracted; every page carries the document number and 第 X 页 共 Y 页.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, TableCellFillMode, TextMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image, UnidentifiedImageError

from server.documents.fonts import document_font
from server.documents.posters import qr_matrix
from server.documents.records import (
    DocKind,
    InspectionDocuments,
    SignatureImage,
    order_paragraphs,
    strings_of,
    zh_date,
    zh_time,
)

log = logging.getLogger(__name__)

FONT = "doc"
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20.0, 16.0, 20.0
#: Text width on A4 (210 mm) between the margins.
WIDTH = 210.0 - 2 * MARGIN_X
BODY_PT, SMALL_PT, TABLE_PT = 10.5, 8.0, 9.0
LINE = 6.0
QR_SIDE = 26.0
SIGNATURE_BOX = (50.0, 15.0)
PHOTO_BOX = (50.0, 37.5)
INDENT = "\u3000\u3000"
CELL_PADDING = 1.2

#: The application named in the PDF's metadata.
CREATOR = "冶金工贸安全生产检查"
#: Every fixed text the layout prints (the font made for a document must hold their characters too).
LABELS = (
    "被检查单位", "统一社会信用代码", "地址", "主要负责人", "联系电话", "检查场所", "检查类型", "检查时间", "至",
    "执法人员", "专家", "被检查单位现场负责人", "执法证号", "无", "我们是", "，证件号码为", "、",
    "已向你单位出示执法证件。现依法对你单位进行现场检查，请予以配合。", "一、检查情况", "二、发现的事故隐患",
    "三、检查小结", "四、签名确认", "编号", "检查内容", "结果", "备注", "序号", "隐患描述", "部位", "等级",
    "整改期限", "前", "本次检查未发现事故隐患。", "已当场下达《责令限期整改指令书》", "目录中其余", "项不适用于本单位，未列入。",
    "（签名）", "未取得签名图像", "签名时间", "电子封存与核验", "本文书内容取自执法终端现场封存的检查记录。",
    "封存记录 SHA-256：", "设备签名验证：", "已通过", "未通过", "未封存，无法在线核验", "核验地址：",
    "扫描二维码或访问核验地址，可核对本文书与存档记录是否一致。", "扫码核验", "检查项", "部位：", "；", "：",
    "（印章）", "安全生产执法人员（签名）：", "证号：", "被检查单位负责人（签收）：", "照片", "隐患照片",
    "（本文书一式两份：一份由应急管理部门备案，一份交被检查单位。）", "第", "页", "共", "（", "）", "。",
    "责令停产停业整改", "—", "____年__月__日", INDENT, CREATOR,
)  # fmt: skip


@dataclass(frozen=True)
class RenderedDocument:
    """A document as PDF bytes, its download name, and characters the font could not draw (if any)."""

    kind: DocKind
    data: bytes
    filename: str
    missing: frozenset[str]

    @property
    def content_disposition(self) -> str:
        """An attachment header with the Chinese name (RFC 6266 / 5987) and an ASCII fallback."""
        return f"attachment; filename=\"{self.kind.value}.pdf\"; filename*=UTF-8''{quote(self.filename)}"


class _Pdf(FPDF):
    """A4 portrait with the document number and 第 X 页 共 Y 页 at the foot of every page."""

    def __init__(self, number: str, audit_head: str | None = None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.number = number
        self.audit_head = audit_head
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.alias_nb_pages()
        self.set_line_width(0.2)

    def footer(self) -> None:
        """The number on the left and the page count in the middle."""
        self.set_y(-14)
        self.set_font(FONT, size=SMALL_PT)
        self.set_text_color(80)
        self.cell(WIDTH, 5, self.number, align=Align.L)
        self.set_x(self.l_margin)
        self.cell(WIDTH, 5, f"第 {self.page_no()} 页 共 {{nb}} 页", align=Align.C)
        if self.audit_head:
            # The audit chain's head when printed: kept on paper, out of reach of a database edit.
            self.set_x(self.l_margin)
            self.cell(WIDTH, 5, f"{AUDIT_HEAD_LABEL} {self.audit_head}", align=Align.R)
        self.set_text_color(0)


@contextmanager
def _bold(pdf: FPDF, size_pt: float) -> Iterator[None]:
    """Bold by also stroking the glyph outlines: the bundled CJK collection has no bold face.

    Inside a saved graphics state (q … Q): fpdf2 writes the rendering mode only when it is not plain fill, and
    a mode left set would stroke all the text after it.
    """
    with pdf.local_context(
        text_mode=TextMode.FILL_STROKE, line_width=size_pt * 0.03 * 25.4 / 72, draw_color=0
    ):
        yield


#: Chinese typesetting's 避头点 (never at the start of a line) and 避尾点 (never at the end).
NO_LINE_START = frozenset("，。、；：？！）》」』】〕”’,.;:?!)%")
NO_LINE_END = frozenset("（《「『【〔“‘(")
#: What the font made for a document must hold besides the document's own text.
#: Printed before the audit chain's head in each page's footer.
AUDIT_HEAD_LABEL = "审计链"
FONT_TEXTS = (*LABELS, AUDIT_HEAD_LABEL, *sorted(NO_LINE_START | NO_LINE_END))
#: Slack left when wrapping ahead of fpdf2, so that it never breaks a pre-wrapped line again.
WRAP_SLACK = 0.4


def _wrap(pdf: FPDF, text: str, width: float) -> str:
    """``text`` broken into lines no wider than ``width`` at the current font, character by character as
    Chinese is, keeping punctuation off the start of a line and opening brackets off its end (fpdf2's own
    character wrapping would start a line with "。")."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph:
            if line and pdf.get_string_width(line + char) > width - WRAP_SLACK:
                if len(line) > 1 and (char in NO_LINE_START or line[-1] in NO_LINE_END):
                    # Carry the last character down with the punctuation (or the bracket down to its text).
                    lines.append(line[:-1])
                    line = line[-1]
                else:
                    lines.append(line)
                    line = ""
            line += char
        lines.append(line)
    return "\n".join(lines)


def _text(pdf: FPDF, text: str, size: float = BODY_PT, *, indent: bool = False, width: float = WIDTH) -> None:
    """A paragraph ``width`` wide, wrapped as Chinese is."""
    pdf.set_font(FONT, size=size)
    wrapped = _wrap(pdf, (INDENT if indent else "") + text, width - 2 * pdf.c_margin)
    pdf.multi_cell(
        width, LINE * size / BODY_PT, wrapped, align=Align.L, wrapmode=WrapMode.CHAR,
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip


def _cells(pdf: FPDF, row: Any, values: Sequence[str], widths: Sequence[float]) -> None:
    """A table row's cells, each wrapped to its column (less the padding)."""
    for value, width in zip(values, widths, strict=True):
        row.cell(_wrap(pdf, value, width - 2 * CELL_PADDING))


def _heading(pdf: FPDF, text: str) -> None:
    """A section heading, kept with the start of what follows."""
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FONT, size=12)
    with _bold(pdf, 12):
        pdf.cell(WIDTH, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _image(data: bytes | None) -> Image.Image | None:
    """The bytes as an image fpdf2 can embed, or None if they are not one (a blob that is no picture)."""
    if not data:
        return None
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    if image.mode not in ("1", "L", "RGB"):
        # Transparent signature strokes (RGBA, LA, P) print on white paper.
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    return image


def _jpeg_or_image(data: bytes | None) -> bytes | Image.Image | None:
    """A JPEG is embedded as it is (no re-encoding); anything else as a decoded image."""
    if data and data[:3] == b"\xff\xd8\xff":
        return data
    return _image(data)


def _qr(pdf: FPDF, url: str | None) -> None:
    """The verification QR code at the top right of the first page, with its caption."""
    if not url:
        return
    matrix = qr_matrix(url)
    size = len(matrix)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = image.resize((size * 8, size * 8), Image.Resampling.NEAREST)
    x = 210.0 - MARGIN_X - QR_SIDE
    pdf.image(image, x=x, y=MARGIN_TOP - 4, w=QR_SIDE, h=QR_SIDE)
    pdf.set_font(FONT, size=7)
    pdf.set_xy(x, MARGIN_TOP - 4 + QR_SIDE)
    pdf.cell(QR_SIDE, 3.5, "扫码核验", align=Align.C)


def _title(pdf: FPDF, docs: InspectionDocuments, kind: DocKind) -> None:
    """Authority, document name and number, centred, with the QR code beside them."""
    _qr(pdf, docs.verify_url(kind))
    pdf.set_xy(MARGIN_X, MARGIN_TOP)
    pdf.set_font(FONT, size=14)
    pdf.cell(WIDTH, 8, docs.authority, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=22)
    with _bold(pdf, 22):
        pdf.cell(WIDTH, 12, kind.name_zh, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=BODY_PT)
    pdf.cell(WIDTH, 7, docs.number(kind), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), MARGIN_TOP + QR_SIDE + 2))
    pdf.ln(2)


def _warnings(pdf: FPDF, docs: InspectionDocuments) -> None:
    """The seal's warnings, boxed in red right under the title: the first thing a reader of the paper sees."""
    if not docs.warnings:
        return
    pdf.set_font(FONT, size=BODY_PT)
    text = "\n".join(_wrap(pdf, line, WIDTH - 6) for line in docs.warnings)
    with pdf.local_context(draw_color=(200, 0, 0), text_color=(170, 0, 0), line_width=0.8):
        pdf.multi_cell(
            WIDTH, LINE, text, border=1, align=Align.L, wrapmode=WrapMode.CHAR, padding=2,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
    pdf.ln(2)


def _officers(docs: InspectionDocuments) -> str:
    return (
        "、".join(f"{o.name}（执法证号：{o.badge_no}）" if o.badge_no else o.name for o in docs.inspectors)
        or "无"
    )


def _info_table(pdf: FPDF, docs: InspectionDocuments) -> None:
    """The header facts of the record as a two-column grid."""
    person = docs.main_person or "—"
    if docs.main_person_phone:
        person += f"（联系电话：{docs.main_person_phone}）"
    rows = [
        ("被检查单位", docs.enterprise_name),
        ("统一社会信用代码", docs.credit_code),
        ("地址", docs.address or "—"),
        ("主要负责人", person),
        ("检查场所", docs.place),
        ("检查类型", docs.kind_zh),
        ("检查时间", f"{zh_time(docs.started_at)} 至 {zh_time(docs.finished_at)}"),
        ("执法人员", _officers(docs)),
    ]
    if docs.experts:
        rows.append(("专家", "、".join(docs.experts)))
    rows.append(("被检查单位现场负责人", "、".join(docs.representatives) or "—"))
    pdf.set_font(FONT, size=TABLE_PT)
    widths = (38, WIDTH - 38)
    with pdf.table(
        col_widths=widths, first_row_as_headings=False, line_height=5.5, wrapmode=WrapMode.CHAR,
        text_align=(Align.L, Align.L), padding=CELL_PADDING, cell_fill_color=245, cell_fill_mode=TableCellFillMode.COLUMNS,
    ) as table:  # fmt: skip
        for label, value in rows:
            _cells(pdf, table.row(), (label, value), widths)


def _checks_table(pdf: FPDF, docs: InspectionDocuments) -> None:
    """Every answered item: code, text, result, note; a 不符合 row is shaded."""
    pdf.set_font(FONT, size=TABLE_PT)
    heading = FontFace(fill_color=225)
    flagged = FontFace(fill_color=238)
    widths = (16, 94, 16, WIDTH - 126)
    with pdf.table(
        col_widths=widths, line_height=5, wrapmode=WrapMode.CHAR, headings_style=heading,
        text_align=(Align.C, Align.L, Align.C, Align.L), padding=CELL_PADDING, repeat_headings=1,
    ) as table:  # fmt: skip
        _cells(pdf, table.row(), ("编号", "检查内容", "结果", "备注"), widths)
        for check in docs.checks:
            row = table.row(style=flagged if check.non_compliant else None)
            _cells(pdf, row, (check.code, check.text, check.result, check.note), widths)
    if docs.unanswered:
        _text(pdf, f"目录中其余 {docs.unanswered} 项不适用于本单位，未列入。", SMALL_PT)


def _hazards_table(pdf: FPDF, docs: InspectionDocuments) -> None:
    """The hazards found, with level and the deadline set on site."""
    if not docs.hazards:
        _text(pdf, "本次检查未发现事故隐患。", indent=True)
        return
    pdf.set_font(FONT, size=TABLE_PT)
    widths = (12, 74, 28, 22, WIDTH - 136)
    with pdf.table(
        col_widths=widths, line_height=5, wrapmode=WrapMode.CHAR, repeat_headings=1,
        headings_style=FontFace(fill_color=225), text_align=(Align.C, Align.L, Align.L, Align.C, Align.C), padding=CELL_PADDING,
    ) as table:  # fmt: skip
        _cells(pdf, table.row(), ("序号", "隐患描述", "部位", "等级", "整改期限"), widths)
        for hazard in docs.hazards:
            code = f"（检查项 {hazard.item_code}）" if hazard.item_code else ""
            values = (
                str(hazard.number), hazard.description + code, hazard.place or "—", hazard.level,
                f"{zh_date(hazard.deadline)}前" if hazard.deadline else "—",
            )  # fmt: skip
            _cells(pdf, table.row(), values, widths)
    pdf.ln(1)
    _text(pdf, f"已当场下达《责令限期整改指令书》（{docs.number(DocKind.order)}）。", indent=True)


def _signature_cell(pdf: FPDF, x: float, y: float, label: str, signature: SignatureImage | None) -> None:
    """One signer: the label, the captured image (or a line to sign on) and when it was signed."""
    width, height = SIGNATURE_BOX
    pdf.set_xy(x, y)
    pdf.set_font(FONT, size=SMALL_PT)
    pdf.multi_cell(width + 4, 4, _wrap(pdf, label, width + 4 - 2 * pdf.c_margin), wrapmode=WrapMode.CHAR)
    top = y + 9
    image = _image(signature.image) if signature else None
    if image is not None:
        pdf.image(image, x=x, y=top, w=width, h=height, keep_aspect_ratio=True)
    else:
        pdf.set_xy(x, top + height / 2 - 2)
        pdf.set_text_color(110)
        pdf.cell(width, 4, "未取得签名图像" if signature else "", align=Align.C)
        pdf.set_text_color(0)
    pdf.line(x, top + height + 0.5, x + width, top + height + 0.5)
    if signature and signature.at:
        pdf.set_xy(x, top + height + 1)
        pdf.cell(width, 4, f"签名时间 {signature.at}", align=Align.L)


def _signatures(pdf: FPDF, docs: InspectionDocuments, *, officer_label: str, rep_label: str) -> None:
    """The inspectors' and the enterprise representative's signatures, three to a row, never split."""
    signed = {(s.role, s.name): s for s in docs.signatures}
    cells: list[tuple[str, SignatureImage | None]] = []
    for officer in docs.inspectors:
        badge = f"（执法证号：{officer.badge_no}）" if officer.badge_no else ""
        cells.append((f"{officer_label}{officer.name}{badge}", signed.get(("inspector", officer.name))))
    reps = [s for s in docs.signatures if s.role == "enterprise_rep"]
    names = docs.representatives or [s.name for s in reps]
    for name in names or [""]:
        match = signed.get(("enterprise_rep", name)) or (reps[0] if reps else None)
        cells.append((f"{rep_label}{name}", match))
    row_height = 9 + SIGNATURE_BOX[1] + 7
    for start in range(0, len(cells), 3):
        if pdf.will_page_break(row_height):
            pdf.add_page()
        y = pdf.get_y()
        for column, (label, signature) in enumerate(cells[start : start + 3]):
            _signature_cell(pdf, MARGIN_X + column * (WIDTH / 3), y, label, signature)
        pdf.set_xy(MARGIN_X, y + row_height)


def _seal_block(pdf: FPDF, docs: InspectionDocuments, kind: DocKind) -> None:
    """The sealed record's hash, whether the device's signature held, and where to verify."""
    url = docs.verify_url(kind)
    lines = ["本文书内容取自执法终端现场封存的检查记录。"]
    if url and docs.sealed_sha256:
        verified = {True: "已通过", False: "未通过", None: "—"}[docs.seal_verified]
        lines += [
            f"封存记录 SHA-256：{docs.sealed_sha256}",
            f"设备签名验证：{verified}",
            f"核验地址：{url}",
            "扫描二维码或访问核验地址，可核对本文书与存档记录是否一致。",
        ]
    else:
        lines = ["未封存，无法在线核验。"]
    if pdf.will_page_break(8 + 4.5 * len(lines)):
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FONT, size=SMALL_PT)
    with _bold(pdf, SMALL_PT):
        pdf.cell(WIDTH, 5, "电子封存与核验", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for line in lines:
        pdf.multi_cell(
            WIDTH, 4.2, _wrap(pdf, line, WIDTH - 2 * pdf.c_margin), wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip


def _record(pdf: FPDF, docs: InspectionDocuments) -> None:
    """现场检查记录."""
    _title(pdf, docs, DocKind.record)
    _warnings(pdf, docs)
    _info_table(pdf, docs)
    pdf.ln(2)
    names = "、".join(o.name for o in docs.inspectors)
    badges = "、".join(o.badge_no or "—" for o in docs.inspectors)
    _text(
        pdf, f"我们是{docs.authority}执法人员{names}，证件号码为{badges}，已向你单位出示执法证件。"
        "现依法对你单位进行现场检查，请予以配合。", indent=True,
    )  # fmt: skip
    _heading(pdf, "一、检查情况")
    _checks_table(pdf, docs)
    _heading(pdf, "二、发现的事故隐患")
    _hazards_table(pdf, docs)
    if docs.summary_note:
        _heading(pdf, "三、检查小结")
        _text(pdf, docs.summary_note, indent=True)
    # The tablet's print has no summary (the tablet records none): the signatures are then section 三 there too.
    _heading(pdf, "四、签名确认" if docs.summary_note else "三、签名确认")
    _signatures(pdf, docs, officer_label="执法人员（签名）：", rep_label="被检查单位现场负责人（签名）：")
    _seal_block(pdf, docs, DocKind.record)


def _order_hazard(pdf: FPDF, docs: InspectionDocuments, index: int) -> None:
    """One problem of the order: the text, and its photo (thumbnail-size) on the right."""
    hazard = docs.hazards[index]
    facts = [f"检查项 {hazard.item_code}"] if hazard.item_code else []
    if hazard.place:
        facts.append(f"部位：{hazard.place}")
    facts.append(hazard.level)
    if hazard.deadline:
        facts.append(f"整改期限：{zh_date(hazard.deadline)}前")
    if hazard.major and hazard.stop_production:
        facts.append("责令停产停业整改")
    text = f"{hazard.number}. {hazard.description}（{'；'.join(facts)}）"
    photo = _jpeg_or_image(hazard.photo)
    text_width = WIDTH - (PHOTO_BOX[0] + 4 if photo is not None else 0)
    pdf.set_font(FONT, size=BODY_PT)
    text = _wrap(pdf, text, text_width - 2 * pdf.c_margin)
    height = cast(
        float,
        pdf.multi_cell(
            text_width, LINE, text, wrapmode=WrapMode.CHAR, dry_run=True, output=MethodReturnValue.HEIGHT
        ),
    )
    needed = max(height, PHOTO_BOX[1] if photo is not None else 0.0) + 3
    if pdf.will_page_break(needed):
        pdf.add_page()
    y = pdf.get_y()
    pdf.multi_cell(text_width, LINE, text, wrapmode=WrapMode.CHAR, align=Align.L)
    if photo is not None:
        pdf.image(
            photo,
            x=MARGIN_X + WIDTH - PHOTO_BOX[0],
            y=y,
            w=PHOTO_BOX[0],
            h=PHOTO_BOX[1],
            keep_aspect_ratio=True,
        )
    pdf.set_xy(MARGIN_X, y + needed)


def _order(pdf: FPDF, docs: InspectionDocuments) -> None:
    """责令限期整改指令书."""
    _title(pdf, docs, DocKind.order)
    _warnings(pdf, docs)
    pdf.set_font(FONT, size=12)
    with _bold(pdf, 12):
        pdf.cell(WIDTH, 8, f"{docs.enterprise_name}：", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    opening, paragraphs = order_paragraphs(docs)
    _text(pdf, opening, indent=True)
    pdf.ln(1)
    for index in range(len(docs.hazards)):
        _order_hazard(pdf, docs, index)
    for paragraph in paragraphs:
        _text(pdf, paragraph, indent=True)
    pdf.ln(3)
    _signatures(pdf, docs, officer_label="安全生产执法人员（签名）：", rep_label="被检查单位负责人（签收）：")
    if pdf.will_page_break(18):
        pdf.add_page()
    pdf.set_font(FONT, size=BODY_PT)
    pdf.cell(WIDTH, LINE, f"{docs.authority}（印章）", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(WIDTH, LINE, zh_date(docs.issued_on), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _text(pdf, "（本文书一式两份：一份由应急管理部门备案，一份交被检查单位。）", SMALL_PT)
    _seal_block(pdf, docs, DocKind.order)


def _keep_outlines(pdf: FPDF) -> None:
    """Embed the glyphs as fontTools packed them for this document, without unpacking and packing them again.

    The font was made for this document alone, so its bounding boxes and maxp limits already hold for the
    subset fpdf2 embeds; recomputing them would cost some 40 % of the time a document takes.
    """
    for face in pdf.fonts.values():
        font = getattr(face, "ttfont", None)
        if font is not None:
            font.recalcBBoxes = False


def render(docs: InspectionDocuments, kind: DocKind, *, audit_head: str | None = None) -> RenderedDocument:
    """The document as PDF bytes (the order needs hazards: the caller checks ``docs.kinds``); ``audit_head``,
    the audit chain's head label, is printed in the footer."""
    number = docs.number(kind)
    font = document_font(strings_of(docs, [*FONT_TEXTS, audit_head or ""]))
    pdf = _Pdf(number, audit_head)
    pdf.set_lang("zh-CN")
    pdf.set_title(f"{kind.name_zh} {number}")
    pdf.set_author(docs.authority)
    pdf.set_subject(f"{docs.enterprise_name} {kind.name_zh}")
    pdf.set_keywords(f"SHA-256 {docs.sealed_sha256 or '-'}")
    pdf.set_creator(CREATOR)
    # fpdf2 reads fonts from a path; the file is needed until output() has embedded its subset.
    with tempfile.TemporaryDirectory(prefix="documents-") as folder:
        path = Path(folder) / "font.ttf"
        path.write_bytes(font.data)
        pdf.add_font(FONT, "", str(path))
        _keep_outlines(pdf)
        pdf.set_font(FONT, size=BODY_PT)
        pdf.add_page()
        (_record if kind is DocKind.record else _order)(pdf, docs)
        missing = frozenset(
            chr(code) for face in pdf.fonts.values() for code in getattr(face, "missing_glyphs", [])
        )
        data = bytes(pdf.output())
    if missing:
        log.warning("document %s: the font lacks %s", number, "".join(sorted(missing)))
    day = zh_date(docs.issued_on) if docs.issued_on else ""
    filename = f"{kind.name_zh}-{docs.enterprise_name}-{day}.pdf".replace("/", "_")
    return RenderedDocument(kind, data, filename, missing | font.missing)
