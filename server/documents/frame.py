"""The frame the paperwork's documents share with the inspection documents (server.documents.pdf): a PDF made for
its own text with the bundled CJK font, and the title block (authority, name, number, verification QR code)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fpdf.enums import Align, XPos, YPos

from server.documents.fonts import document_font
from server.documents.pdf import (
    BODY_PT,
    CREATOR,
    FONT,
    FONT_TEXTS,
    MARGIN_TOP,
    MARGIN_X,
    QR_SIDE,
    WIDTH,
    _bold,
    _keep_outlines,
    _Pdf,
    _qr,
)


def render_document(
    *,
    title: str,
    number: str,
    authority: str,
    texts: Iterable[str],
    body: Callable[[Any], None],
    keywords: str = "",
) -> bytes:
    """A PDF titled ``title`` numbered ``number``, its font holding every character of ``texts``; ``body`` lays
    out the pages (the first one is open)."""
    font = document_font({c for text in (*texts, *FONT_TEXTS, title, number, authority) for c in text})
    pdf = _Pdf(number)
    pdf.set_lang("zh-CN")
    pdf.set_title(f"{title} {number}")
    pdf.set_author(authority)
    pdf.set_creator(CREATOR)
    if keywords:
        pdf.set_keywords(keywords)
    # fpdf2 reads fonts from a path; the file is needed until output() has embedded its subset.
    with tempfile.TemporaryDirectory(prefix="document-") as folder:
        path = Path(folder) / "font.ttf"
        path.write_bytes(font.data)
        pdf.add_font(FONT, "", str(path))
        _keep_outlines(pdf)
        pdf.set_font(FONT, size=BODY_PT)
        pdf.add_page()
        body(pdf)
        return bytes(pdf.output())


def title_block(pdf: Any, *, authority: str, title: str, number: str, verify_url: str | None) -> None:
    """Authority, document name and number, centred, with the verification QR code beside them."""
    _qr(pdf, verify_url)
    pdf.set_xy(MARGIN_X, MARGIN_TOP)
    pdf.set_font(FONT, size=14)
    pdf.cell(WIDTH, 8, authority, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=22)
    with _bold(pdf, 22):
        pdf.cell(WIDTH, 12, title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=BODY_PT)
    pdf.cell(WIDTH, 7, number, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), MARGIN_TOP + QR_SIDE + 2))


def attachment(ascii_name: str, filename: str) -> str:
    """A Content-Disposition with the Chinese name (RFC 6266 / 5987) and an ASCII fallback."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename.replace('/', '_'))}"
