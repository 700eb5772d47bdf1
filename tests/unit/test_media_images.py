"""Image ingest: allowed formats only, bombs refused before decoding, EXIF facts, upright thumbnails."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from server.media import images
from server.media.images import ingest_image, inspect_image, thumbnail_jpeg
from sync import problems

MAX_PIXELS = 50_000_000
RED, BLUE = (220, 20, 20), (20, 20, 220)


def exif_with(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    lat: Any = None,
    lat_ref: str = "N",
    lon: Any = None,
    lon_ref: str = "E",
) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    if lat is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        gps[ExifTags.GPS.GPSLatitude] = lat
        gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        gps[ExifTags.GPS.GPSLongitude] = lon
    return exif


def halves(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: shows which way a thumbnail was turned."""
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, size[0] // 2, size[1]))
    return img


def close_to(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


def png_with_header_size(path: Path, width: int, height: int) -> Path:
    """A tiny real PNG whose IHDR claims ``width`` x ``height`` (CRC fixed): a bomb by its header."""
    Image.new("1", (8, 8)).save(path, "PNG")
    raw = bytearray(path.read_bytes())
    # Signature (8) + length (4) + b"IHDR" (4), then width and height, then the rest of IHDR and its CRC.
    assert raw[12:16] == b"IHDR"
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    path.write_bytes(bytes(raw))
    return path


def refused(path: Path, code: str, **kwargs: Any) -> problems.Problem:
    with pytest.raises(problems.Problem) as caught:
        inspect_image(path, max_pixels=kwargs.pop("max_pixels", MAX_PIXELS), **kwargs)
    assert caught.value.code == code, caught.value.message("en")
    return caught.value


def test_jpeg_facts_and_an_upright_thumbnail(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    exif = exif_with(
        orientation=6,  # the camera was held upright: turn 90° clockwise to show
        taken="2026:06:15 10:30:00",
        lat=(IFDRational(38, 1), IFDRational(27, 1), IFDRational(3600, 100)),
        lon=(111.0, 7.0, 30.0),
    )
    halves((1600, 800)).save(path, "JPEG", quality=90, exif=exif)

    facts = inspect_image(path, max_pixels=MAX_PIXELS)
    assert (facts.mime, facts.width, facts.height, facts.orientation) == ("image/jpeg", 1600, 800, 6)
    # No OffsetTimeOriginal: read as China time, 10:30 in Beijing is 02:30 UTC.
    assert facts.taken_at == datetime(2026, 6, 15, 2, 30, tzinfo=UTC)
    assert facts.lat == pytest.approx(38.46)
    assert facts.lon == pytest.approx(111 + 7 / 60 + 30 / 3600)

    with Image.open(io.BytesIO(thumbnail_jpeg(path))) as small:
        assert small.format == "JPEG"
        assert small.size == (240, 480), "upright: taller than wide, long edge 480"
        rgb = small.convert("RGB")
        # Turned clockwise, the stored left half (red) is now on top.
        assert close_to(rgb.getpixel((120, 60)), RED)
        assert close_to(rgb.getpixel((120, 420)), BLUE)


def test_a_large_jpeg_thumbnail_is_small(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    halves((4000, 3000)).save(path, "JPEG", quality=85)
    with path.open("rb") as handle, Image.open(io.BytesIO(thumbnail_jpeg(handle, long_edge=480))) as small:
        assert small.size == (480, 360)
        assert close_to(small.convert("RGB").getpixel((10, 180)), RED)


def test_offset_time_and_southern_western_positions(tmp_path: Path) -> None:
    path = tmp_path / "abroad.jpg"
    exif = exif_with(
        taken="2026:01:02 23:15:00",
        offset="-03:00",
        lat=(33.0, 30.0, 0.0),
        lat_ref="S",
        lon=(70.0, 40.0, 0.0),
        lon_ref="W",
    )
    Image.new("RGB", (40, 30), "green").save(path, "JPEG", exif=exif)
    facts = inspect_image(path, max_pixels=MAX_PIXELS)
    assert facts.taken_at == datetime(2026, 1, 3, 2, 15, tzinfo=UTC)
    assert (facts.lat, facts.lon) == (pytest.approx(-33.5), pytest.approx(-70 - 40 / 60))
    assert facts.orientation is None


@pytest.mark.parametrize(
    "exif",
    [
        exif_with(taken="0000:00:00 00:00:00", lat=(0.0, 0.0, 0.0), lon=(0.0, 0.0, 0.0)),
        exif_with(taken="    :  :     :  :  ", lat=(IFDRational(1, 0), 0.0, 0.0), lon=(111.0, 0.0, 0.0)),
        exif_with(taken="2026:13:40 25:00:00", orientation=9, lat=(38.0, 0.0, 0.0), lat_ref="", lon=(1.0,)),
    ],
    ids=["unset camera", "blank and division by zero", "out of range"],
)
def test_malformed_exif_is_ignored_not_fatal(tmp_path: Path, exif: Image.Exif) -> None:
    path = tmp_path / "odd.jpg"
    Image.new("RGB", (40, 30), "white").save(path, "JPEG", exif=exif)
    facts = inspect_image(path, max_pixels=MAX_PIXELS)
    assert (facts.taken_at, facts.lat, facts.lon, facts.orientation) == (None, None, None, None)


def test_png_with_transparency(tmp_path: Path) -> None:
    path = tmp_path / "sketch.png"
    img = Image.new("RGBA", (300, 1200), (0, 0, 0, 0))
    img.paste((0, 0, 255, 255), (0, 0, 300, 600))
    img.save(path, "PNG")
    facts = inspect_image(path, max_pixels=MAX_PIXELS)
    assert (facts.mime, facts.width, facts.height, facts.taken_at, facts.lat) == (
        "image/png",
        300,
        1200,
        None,
        None,
    )
    with Image.open(io.BytesIO(thumbnail_jpeg(path))) as small:
        assert (small.format, small.mode, small.size) == ("JPEG", "RGB", (120, 480))
        assert close_to(small.getpixel((60, 400)), (255, 255, 255)), "transparent becomes white, not black"


def test_webp_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    Image.new("RGB", (64, 48), "orange").save(path, "WEBP")
    facts = inspect_image(path, max_pixels=MAX_PIXELS)
    assert (facts.mime, facts.width, facts.height) == ("image/webp", 64, 48)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.jpg", "现场检查记录：除尘系统正常。\n".encode()),
        ("report.jpg", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"),
        ("empty.jpg", b""),
        ("html.png", b"<html><body><img src=x onerror=alert(1)></body></html>"),
    ],
)
def test_files_that_are_not_images_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    problem = refused(path, "415.40")
    assert problem.details["allowed"] == "JPEG, PNG, WEBP"


def test_an_image_of_a_format_not_allowed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "anim.jpg"
    Image.new("RGB", (10, 10), "red").save(path, "GIF")
    refused(path, "415.40")
    png = tmp_path / "ok.png"
    Image.new("RGB", (10, 10), "red").save(png, "PNG")
    refused(png, "415.40", allowed=("JPEG",))


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # beyond twice Pillow's own limit: its DecompressionBombError
        (10_000, 10_000),  # beyond Pillow's limit: its DecompressionBombWarning
        (8_000, 8_000),  # within Pillow's limits, beyond ours
    ],
)
def test_header_bombs_are_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    path = png_with_header_size(tmp_path / "bomb.png", width, height)
    problem = refused(path, "422.41")
    assert problem.details["pixels"] == width * height


def test_a_big_image_within_the_limit_passes(tmp_path: Path) -> None:
    path = png_with_header_size(tmp_path / "tall.png", 8, 8)
    assert inspect_image(path, max_pixels=64).width == 8
    refused(path, "422.41", max_pixels=63)


def test_truncated_images_are_refused(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    noisy = Image.effect_noise((800, 600), 60).convert("RGB")
    noisy.save(photo, "JPEG", quality=90)
    data = photo.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    refused(cut, "415.40")

    png = tmp_path / "photo.png"
    noisy.save(png, "PNG")
    cut_png = tmp_path / "cut.png"
    cut_png.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    refused(cut_png, "415.40")

    bad_crc = bytearray(png.read_bytes())
    bad_crc[len(bad_crc) // 2] ^= 0xFF
    (tmp_path / "flipped.png").write_bytes(bytes(bad_crc))
    refused(tmp_path / "flipped.png", "415.40")


def test_thumbnail_of_a_non_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(b"not an image")
    with pytest.raises(problems.Problem) as caught:
        thumbnail_jpeg(path)
    assert caught.value.code == "415.40"


def _photo_cases(tmp_path: Path) -> list[Path]:
    """Images as devices and the web send them: EXIF JPEGs turned or not, a large one, a PNG, a WEBP."""
    cases = []
    jpeg = tmp_path / "turned.jpg"
    exif = exif_with(
        orientation=6, taken="2026:06:15 10:30:00", lat=(38.0, 27.0, 0.0), lon=(111.0, 7.0, 30.0)
    )
    halves((1600, 800)).save(jpeg, "JPEG", quality=90, exif=exif)
    cases.append(jpeg)
    big = tmp_path / "big.jpg"
    Image.effect_noise((2048, 1536), 50).convert("RGB").save(big, "JPEG", quality=85)
    cases.append(big)
    tiny = tmp_path / "tiny.jpg"
    halves((64, 48)).save(tiny, "JPEG", exif=exif_with(orientation=3))
    cases.append(tiny)
    grey = tmp_path / "grey.jpg"
    Image.new("L", (300, 200), 128).save(grey, "JPEG")
    cases.append(grey)
    png = tmp_path / "sketch.png"
    sketch = Image.new("RGBA", (300, 1200), (0, 0, 0, 0))
    sketch.paste((0, 0, 255, 255), (0, 0, 300, 600))
    sketch.save(png, "PNG")
    cases.append(png)
    webp = tmp_path / "photo.webp"
    Image.new("RGB", (640, 480), "orange").save(webp, "WEBP")
    cases.append(webp)
    return cases


def test_ingest_gives_exactly_what_inspect_and_thumbnail_give(tmp_path: Path) -> None:
    """The one-pass ingest is a speed change only: the same facts and the same thumbnail, byte for byte."""
    for path in _photo_cases(tmp_path):
        facts, thumbnail = ingest_image(path, max_pixels=MAX_PIXELS)
        assert facts == inspect_image(path, max_pixels=MAX_PIXELS), path.name
        assert thumbnail == thumbnail_jpeg(path), path.name
        with path.open("rb") as handle:
            assert ingest_image(handle, max_pixels=MAX_PIXELS) == (facts, thumbnail)


def test_ingest_refuses_what_inspect_refuses(tmp_path: Path) -> None:
    noisy = Image.effect_noise((800, 600), 60).convert("RGB")
    photo, png = tmp_path / "photo.jpg", tmp_path / "photo.png"
    noisy.save(photo, "JPEG", quality=90)
    noisy.save(png, "PNG")
    flipped = bytearray(png.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    gif = tmp_path / "anim.jpg"
    Image.new("RGB", (10, 10), "red").save(gif, "GIF")
    cases = {
        "cut.jpg": photo.read_bytes()[: photo.stat().st_size // 2],
        "cut.png": png.read_bytes()[: png.stat().st_size // 2],
        "flipped.png": bytes(flipped),
        "notes.jpg": "现场检查记录。\n".encode(),
        "empty.jpg": b"",
        "anim.jpg": gif.read_bytes(),
        "bomb.png": png_with_header_size(tmp_path / "bomb.png", 8_000, 8_000).read_bytes(),
        "big-bomb.png": png_with_header_size(tmp_path / "big-bomb.png", 20_000, 20_000).read_bytes(),
    }
    for name, content in cases.items():
        path = tmp_path / f"case-{name}"
        path.write_bytes(content)
        with pytest.raises(problems.Problem) as expected:
            # What an upload's acceptance ran before: the thumbnail's decode was the check for a cut-off file.
            inspect_image(path, max_pixels=MAX_PIXELS, decode_check=False)
            thumbnail_jpeg(path)
        with pytest.raises(problems.Problem) as caught:
            ingest_image(path, max_pixels=MAX_PIXELS)
        got, wanted = caught.value, expected.value
        assert (got.code, got.details) == (wanted.code, wanted.details), name


def test_ingest_opens_a_jpeg_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A device's photo is a JPEG: its header, EXIF and thumbnail come from one parse of the file."""
    path = _photo_cases(tmp_path)[0]
    opened: list[object] = []
    real_open = images.Image.open

    def counting_open(*args: Any, **kwargs: Any) -> Image.Image:
        opened.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(images.Image, "open", counting_open)
    ingest_image(path, max_pixels=MAX_PIXELS)
    assert len(opened) == 1
