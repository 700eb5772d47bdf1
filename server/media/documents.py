"""Recognising an uploaded document by its content (never its name): PDF, Word (.docx, legacy .doc) or a photo
of a paper document (JPEG, PNG, WEBP). A file that only claims to be one of them is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

from server.errors import document_type_refused
from server.media.images import inspect_image
from sync import problems

#: The types accepted, as named to the user.
ALLOWED_NAMES = "PDF, Word (.docx/.doc), JPEG, PNG, WEBP"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC_MIME = "application/msword"
PDF_MIME = "application/pdf"
#: Suffix given to a download, by type (the user's own file name is kept only as a label).
SUFFIXES = {PDF_MIME: ".pdf", DOCX_MIME: ".docx", DOC_MIME: ".doc", "image/jpeg": ".jpg", "image/png": ".png",
            "image/webp": ".webp"}  # fmt: skip

_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
#: Most a Word file may unpack to (its members are read whole to check them, so this bounds the work).
MAX_UNPACKED = 256 * 1024 * 1024


def document_mime(path: Path, *, max_pixels: int) -> str:
    """The MIME type of the document at ``path`` judged by its bytes; raise a Problem for anything else or a
    damaged file (a PDF without its end marker, a Word file whose archive is broken or holds no document)."""
    with path.open("rb") as handle:
        head = handle.read(8)
        handle.seek(max(0, path.stat().st_size - 2048))
        tail = handle.read()
    if head.startswith(b"%PDF-"):
        if b"%%EOF" not in tail:
            raise document_type_refused(allowed=ALLOWED_NAMES, reason="PDF 文件不完整 / truncated PDF")
        return PDF_MIME
    if head.startswith(b"PK\x03\x04"):
        return _docx(path)
    if head == _OLE2:
        return DOC_MIME
    try:
        return inspect_image(path, max_pixels=max_pixels).mime
    except problems.Problem as problem:
        if problem.kind is problems.blob_bomb:
            raise
        raise document_type_refused(
            allowed=ALLOWED_NAMES, reason="无法识别的内容 / unrecognised content"
        ) from None


def _docx(path: Path) -> str:
    """A Word 2007+ document: a sound ZIP archive holding word/document.xml (read from the directory only)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
            # The reader stops at each member's declared size, so capping the declared total bounds the check.
            if unpacked > MAX_UNPACKED:
                raise document_type_refused(allowed=ALLOWED_NAMES, reason="解压后过大 / unpacks too large")
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise document_type_refused(allowed=ALLOWED_NAMES, reason="压缩包损坏 / damaged archive") from None
    if broken is not None:
        raise document_type_refused(allowed=ALLOWED_NAMES, reason=f"压缩包损坏 / damaged archive ({broken})")
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise document_type_refused(allowed=ALLOWED_NAMES, reason="不是 Word 文档 / not a Word document")
    return DOCX_MIME
