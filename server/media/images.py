"""Image ingest with Pillow: identify and check an uploaded photo, read its EXIF facts, make a thumbnail.

Pure of Flask. Every refusal is a catalogue Problem: blob_not_image (415.40) for a file that is not an
allowed, intact image, blob_bomb (422.41) for one with too many pixels.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from sync import problems

ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

#: EXIF times carry no zone; the devices are in China, which keeps one zone (UTC+8) and no DST.
CHINA_TIME = timezone(timedelta(hours=8), "CST")

# What Pillow raises on broken or hostile bytes. Our own file is opened before Pillow sees it, so a
# missing file or a permission error stays a server error instead of becoming a verdict on the photo.
_DECODE_ERRORS = (UnidentifiedImageError, SyntaxError, ValueError, EOFError, OSError, IndexError, TypeError)


@dataclass(frozen=True)
class ImageFacts:
    """What an image says about itself: type, stored size and the EXIF capture time, place and orientation.

    ``width`` and ``height`` are the stored pixel dimensions (before applying ``orientation``).
    ``taken_at`` is aware UTC; ``lat``/``lon`` are WGS-84 degrees as the camera wrote them.
    """

    mime: str
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    orientation: int | None


def inspect_image(
    path: Path | BinaryIO,
    *,
    max_pixels: int,
    allowed: Sequence[str] = ALLOWED_FORMATS,
    decode_check: bool = True,
) -> ImageFacts:
    """Check that ``path`` (a file or a seekable open file) is an intact image of an allowed format within
    ``max_pixels``; return its facts.

    The EXIF DateTimeOriginal has no zone: it is read as China time (UTC+8) unless the image also
    carries OffsetTimeOriginal, whose offset is then used. ``decode_check=False`` skips the scan of a
    JPEG's data for a caller that decodes the image right after anyway (make_thumbnail does).
    """
    formats = tuple(allowed)
    with _opened(path) as handle:
        try:
            with _bombs_as_errors(max_pixels):
                # Only the allowed decoders ever see the bytes: a PDF or a text file is simply unidentified.
                with Image.open(handle, formats=formats) as img:
                    facts = _header_facts(img, formats, max_pixels)
                handle.seek(0)
                with Image.open(handle, formats=formats) as img:
                    img.verify()
                if facts.mime == MIME_TYPES["JPEG"] and decode_check:
                    # verify() does nothing for JPEG; a decode at 1/8 scale reads every byte of the scan
                    # cheaply and notices a cut-off file.
                    handle.seek(0)
                    with Image.open(handle, formats=formats) as img:
                        img.draft(None, (1, 1))
                        img.load()
        except problems.Problem:
            raise
        except UnidentifiedImageError:
            raise _not_image(formats, "unrecognised content") from None
        except _DECODE_ERRORS as exc:
            raise _not_image(formats, f"damaged or truncated ({exc})") from None
    return facts


def ingest_image(
    source: Path | BinaryIO, *, max_pixels: int, long_edge: int = 480
) -> tuple[ImageFacts, bytes]:
    """inspect_image and thumbnail_jpeg of ``source`` at once: the same facts, the same thumbnail, the same
    refusals; a JPEG (what devices send) is parsed once, its thumbnail's decode being the check for a cut-off
    file."""
    with _opened(source) as handle:
        try:
            with _bombs_as_errors(max_pixels), Image.open(handle, formats=ALLOWED_FORMATS) as img:
                facts = _header_facts(img, ALLOWED_FORMATS, max_pixels)
                if img.format == "JPEG":
                    # Its own except below: a decoding error reads as thumbnail_jpeg's, as it did before.
                    try:
                        return facts, _thumbnail_of(img, long_edge)
                    except problems.Problem:
                        raise
                    except _DECODE_ERRORS as exc:
                        raise _not_image(ALLOWED_FORMATS, f"cannot be decoded ({exc})") from None
        except problems.Problem:
            raise
        except UnidentifiedImageError:
            raise _not_image(ALLOWED_FORMATS, "unrecognised content") from None
        except _DECODE_ERRORS as exc:
            raise _not_image(ALLOWED_FORMATS, f"damaged or truncated ({exc})") from None
        # Other formats have a verify() worth its own parse (PNG's checksums): the two steps as they are.
        facts = inspect_image(handle, max_pixels=max_pixels, decode_check=False)
        return facts, thumbnail_jpeg(handle, long_edge=long_edge)


def _header_facts(img: Image.Image, formats: Sequence[str], max_pixels: int) -> ImageFacts:
    """The facts of an opened image, refusing a format not allowed and, before any pixel is decoded, a bomb."""
    if img.format not in formats:
        raise _not_image(formats, f"{img.format} is not allowed")
    width, height = img.size
    if width * height > max_pixels:
        raise problems.blob_bomb(pixels=width * height, limit=max_pixels)
    fmt = img.format
    exif = _exif_facts(img.getexif())
    return ImageFacts(
        mime=MIME_TYPES.get(fmt or "", f"image/{(fmt or '').lower()}"),
        width=width,
        height=height,
        taken_at=exif.get("taken_at"),
        lat=exif.get("lat"),
        lon=exif.get("lon"),
        orientation=exif.get("orientation"),
    )


def thumbnail_jpeg(source: Path | BinaryIO, *, long_edge: int = 480) -> bytes:
    """An upright JPEG thumbnail (quality 80, long edge at most ``long_edge``) of ``source`` (a file or a
    seekable open file)."""
    with _opened(source) as handle:
        try:
            with _bombs_as_errors(None), Image.open(handle, formats=ALLOWED_FORMATS) as img:
                return _thumbnail_of(img, long_edge)
        except problems.Problem:
            raise
        except _DECODE_ERRORS as exc:
            raise _not_image(ALLOWED_FORMATS, f"cannot be decoded ({exc})") from None


def _thumbnail_of(img: Image.Image, long_edge: int) -> bytes:
    """The thumbnail of an opened image not yet decoded (see thumbnail_jpeg)."""
    # JPEG only: libjpeg scales by 1/2..1/8 while decoding, so a 12-MP photo is never
    # decoded at full size. Other formats ignore it.
    width, height = img.size
    scale = long_edge / max(width, height, 1)
    # The size asked for keeps the aspect ratio: libjpeg picks the smallest scale that still
    # covers it, so a 2048×1536 photo decodes at 1/4 rather than 1/2.
    img.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
    img.thumbnail((long_edge, long_edge))
    # After shrinking: the box is square, so rotating the small image gives the same result.
    upright = ImageOps.exif_transpose(img) or img
    thumb = _flatten(upright)
    out = io.BytesIO()
    # No optimize pass: a thumbnail is derived data, cheap to make again if lost.
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


@contextlib.contextmanager
def _opened(source: Path | BinaryIO) -> Iterator[BinaryIO]:
    """A path opened for reading (closed after), or an open file rewound to its start (left open)."""
    if isinstance(source, (str, Path)):
        with Path(source).open("rb") as handle:
            yield handle
    else:
        source.seek(0)
        yield source


def _flatten(img: Image.Image) -> Image.Image:
    """An RGB (or greyscale) image for JPEG: transparency is laid over white, not turned black."""
    if img.mode in ("RGB", "L"):
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


@contextlib.contextmanager
def _bombs_as_errors(limit: int | None) -> Iterator[None]:
    """Turn Pillow's decompression-bomb warning and error into blob_bomb.

    The warning is only a warning by default (logged and ignored in production, an error under pytest);
    either way the image is refused. catch_warnings is process-global, but it only touches this one
    warning category, which we want to be an error anyway.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            raise problems.blob_bomb(
                pixels=int(found.group(1)) if found else "?",
                limit=limit if limit is not None else Image.MAX_IMAGE_PIXELS,
            ) from None


def _not_image(formats: Sequence[str], reason: str) -> problems.Problem:
    return problems.blob_not_image(allowed=", ".join(formats), reason=reason)


def _exif_facts(exif: Image.Exif) -> dict[str, Any]:
    """Capture time, position and orientation from EXIF; anything missing or malformed is left out."""
    facts: dict[str, Any] = {}
    orientation = exif.get(ExifTags.Base.Orientation)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        facts["orientation"] = orientation
    try:
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    except _DECODE_ERRORS:
        exif_ifd = {}
    taken_at = _exif_time(
        exif_ifd.get(ExifTags.Base.DateTimeOriginal), exif_ifd.get(ExifTags.Base.OffsetTimeOriginal)
    )
    if taken_at is not None:
        facts["taken_at"] = taken_at
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except _DECODE_ERRORS:
        gps = {}
    position = _exif_position(gps)
    if position is not None:
        facts["lat"], facts["lon"] = position
    return facts


_EXIF_TIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else None


def _exif_time(value: Any, offset: Any) -> datetime | None:
    """An EXIF "YYYY:MM:DD HH:MM:SS" as aware UTC: in its OffsetTime zone if given, else China time."""
    text = _text(value)
    found = _EXIF_TIME.fullmatch(text) if text else None
    if found is None:
        return None
    zone: timezone = CHINA_TIME
    offset_text = _text(offset)
    zone_found = _EXIF_OFFSET.fullmatch(offset_text) if offset_text else None
    if zone_found is not None:
        sign = -1 if zone_found.group(1) == "-" else 1
        delta = timedelta(hours=int(zone_found.group(2)), minutes=int(zone_found.group(3)))
        if delta < timedelta(hours=24):
            zone = timezone(sign * delta)
    try:
        # Cameras without a set clock write "0000:00:00 00:00:00", which fails here as it should.
        year, month, day, hour, minute, second = (int(part) for part in found.groups())
        local = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
    return local.astimezone(UTC)


def _exif_position(gps: Mapping[int, Any]) -> tuple[float, float] | None:
    """Latitude and longitude in degrees from a GPS IFD (degrees, minutes, seconds as rationals + refs)."""
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "NS")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "EW")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    # 0/0 is what devices without a fix write; nothing we inspect lies in the Gulf of Guinea.
    if lat == 0 and lon == 0:
        return None
    return lat, lon


def _degrees(value: Any, ref: Any, refs: str) -> float | None:
    """Degrees/minutes/seconds (rationals) to signed decimal degrees; ``refs`` is "NS" or "EW"."""
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    ref_text = (_text(ref) or "").upper()[:1]
    if not ref_text or ref_text not in refs:
        return None
    return -degrees if ref_text == refs[1] else degrees
