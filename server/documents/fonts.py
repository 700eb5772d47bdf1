"""中文字体：每份文书用到的字符做成一个小 TrueType 字体 / Chinese text in PDFs: a small TrueType font per document.

The font is the bundled Noto Sans CJK's Simplified Chinese face (or CJK_FONT), found as the QR posters find it
(server.documents.posters.find_cjk_font). fpdf2 2.8.9 can embed that collection face directly, but Noto's faces
are CID-keyed CFF, which fpdf2 writes as a CIDFontType0 with an embedded CMap encoding: viewers draw it, yet
text extractors such as pypdf do not read such encodings, so copying or indexing the text gives spaced-out or
wrong characters. A TrueType (glyf) font is embedded as CIDFontType2 with Identity-H, which every reader
handles, so the text extracts as the Chinese it is.

Converting the whole face to TrueType takes over a minute (65,535 glyphs), too long for a first request. So
each document instead gets a TrueType font holding only the characters it uses: their outlines are converted
with fontTools (cubic to quadratic, cu2qu) from the face, which is opened once per process; converted glyphs
are kept in memory, so the next document reuses them. Nothing is written to the instance folder and nothing is
fetched. The bundled collection has no bold face: headings are drawn bold by stroking the outline as well
(pdf.py), not with a second font.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from fontTools.fontBuilder import FontBuilder  # type: ignore[import-untyped]
from fontTools.pens.cu2quPen import Cu2QuPen  # type: ignore[import-untyped]
from fontTools.pens.recordingPen import DecomposingRecordingPen  # type: ignore[import-untyped]
from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from server.documents.posters import find_cjk_font

#: Converted outlines kept per process; past this many the cache starts again (a few MB at most).
GLYPH_CACHE_LIMIT = 12_000
#: How far (in font units, 1000 per em) a quadratic outline may stray from the cubic one: invisible in print.
CU2QU_MAX_ERR = 1.0
#: Always in the font: what page numbers, dates, hashes and URLs are made of.
BASE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F))


@dataclass(frozen=True)
class SubsetFont:
    """A TrueType font (bytes) covering ``covered``; characters the face lacks are in ``missing``."""

    data: bytes
    covered: frozenset[str]
    missing: frozenset[str]


class _Face:
    """One font face opened once, with the glyphs converted to TrueType so far."""

    def __init__(self, path: str, index: int) -> None:
        self.path, self.index = path, index
        # lazy: only the tables and charstrings touched are read; the 19 MB collection is never loaded whole.
        self.font = TTFont(path, fontNumber=index, lazy=True)
        self.cmap: dict[int, str] = self.font.getBestCmap() or {}
        self.glyph_set = self.font.getGlyphSet()
        self.units_per_em = int(self.font["head"].unitsPerEm)
        self.glyphs: dict[str, object] = {}
        # fontTools' lazy tables are not safe to read from two threads at once.
        self.lock = threading.Lock()

    def _glyph(self, name: str) -> object:
        """The glyph as TrueType quadratic contours (composites decomposed), converted once."""
        cached = self.glyphs.get(name)
        if cached is None:
            if len(self.glyphs) >= GLYPH_CACHE_LIMIT:
                self.glyphs.clear()
            recording = DecomposingRecordingPen(self.glyph_set)
            self.glyph_set[name].draw(recording)
            pen = TTGlyphPen(None)
            # CFF contours run counter-clockwise, TrueType's clockwise: reverse while converting.
            recording.replay(Cu2QuPen(pen, CU2QU_MAX_ERR, reverse_direction=True))
            cached = self.glyphs[name] = pen.glyph()
        return cached

    def subset(self, chars: Iterable[str]) -> SubsetFont:
        """A TrueType font of ``chars`` (plus ASCII), with this face's metrics."""
        wanted = set(BASE_CHARS) | {c for c in chars if len(c) == 1 and c >= " "}
        with self.lock:
            mapping = {ord(c): self.cmap[ord(c)] for c in wanted if ord(c) in self.cmap}
            names = [".notdef", *sorted(set(mapping.values()) - {".notdef"})]
            glyphs = {name: self._glyph(name) for name in names}
            hmtx = self.font["hmtx"]
            advances = {name: hmtx[name][0] for name in names}
            hhea, os2 = self.font["hhea"], self.font["OS/2"]
            builder = FontBuilder(self.units_per_em, isTTF=True)
            builder.setupGlyphOrder(names)
            builder.setupCharacterMap(mapping)
            builder.setupGlyf(glyphs)
            builder.setupHorizontalMetrics(
                {
                    name: (advances[name], getattr(glyph, "xMin", 0) if glyph.numberOfContours else 0)  # type: ignore[attr-defined]
                    for name, glyph in glyphs.items()
                }
            )
            builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
            builder.setupNameTable({"familyName": "NotoSansCJKsc-Document", "styleName": "Regular"})
            builder.setupOS2(
                sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
                sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent,
                sCapHeight=getattr(os2, "sCapHeight", 0), sxHeight=getattr(os2, "sxHeight", 0),
            )  # fmt: skip
            builder.setupPost()
            builder.setupMaxp()
            out = io.BytesIO()
            builder.save(out)
        covered = frozenset(chr(code) for code in mapping)
        return SubsetFont(out.getvalue(), covered, frozenset(wanted - covered))


_faces: dict[tuple[str, int], _Face] = {}
_faces_lock = threading.Lock()
#: CJK_FONT setting → the face found for it (finding opens every face of a collection; done once).
_found: dict[str, tuple[str, int]] = {}


def document_font(chars: Iterable[str]) -> SubsetFont:
    """A TrueType font for ``chars`` from the app's Chinese face (CJK_FONT, the bundled Noto, system fonts)."""
    setting = str(current_app.config.get("CJK_FONT") or "")
    with _faces_lock:
        if setting not in _found:
            _found[setting] = find_cjk_font()
        key = _found[setting]
        face = _faces.get(key)
        if face is None:
            face = _faces[key] = _Face(*key)
    return face.subset(chars)
