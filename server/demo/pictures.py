"""The demo's pictures: photos of a works yard with a burnt-in stamp and EXIF, and signatures (drawn with
Pillow from a seeded random stream, so every run draws the same)."""

from __future__ import annotations

import functools
import io
import random
from datetime import datetime

from PIL import ExifTags, Image, ImageDraw, ImageFont

from server.media.images import CHINA_TIME

#: Demo photos' size: half of it is exactly the thumbnail, which libjpeg then decodes at 1/2 scale, cheaply.
PHOTO_SIZE = (960, 720)


@functools.cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font for the burnt-in stamp (time and position are ASCII)."""
    try:
        return ImageFont.load_default(size=20)
    except (OSError, ValueError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def photo_jpeg(
    rng: random.Random,
    *,
    fixed: bool,
    stamp: tuple[datetime, tuple[float, float], float],
    exif_time: datetime | None,
    exif_position: tuple[float, float] | None,
    camera: tuple[str, str],
) -> bytes:
    """A JPEG that passes for a site photo: a plant scene, grain, the PWA's stamp, camera EXIF.

    The same ``rng`` seed gives the same scene; ``fixed`` adds what the rectification installed.
    """
    width, height = PHOTO_SIZE
    # Drawn at half size and enlarged: quicker, and the softened edges look less like a drawing.
    image = _scene(rng, width // 2, height // 2, fixed).resize((width, height), Image.Resampling.BILINEAR)
    # Sensor grain, seeded: flat shapes alone look drawn, and compress to a few kB.
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    image = Image.blend(image, grain, 0.07)
    taken, (lat, lon), accuracy = stamp
    # The stamp the PWA burns in (time and position; the enterprise's name would need a CJK font).
    band = image.crop((0, height - 60, width, height)).point(lambda v: v * 45 // 100)
    image.paste(band, (0, height - 60))
    pen = ImageDraw.Draw(image)
    pen.text(
        (14, height - 55),
        taken.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        fill="white",
        font=_font(),
    )
    pen.text((14, height - 29), f"{lat:.6f}, {lon:.6f} ±{round(accuracy)}m", fill="white", font=_font())
    out = io.BytesIO()
    if exif_time is None and exif_position is None:
        image.save(out, "JPEG", quality=80)
        return out.getvalue()
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera
    if exif_time is not None:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        # Cameras write local time; the offset tag says which zone it is.
        details[ExifTags.Base.DateTimeOriginal] = exif_time.astimezone(CHINA_TIME).strftime(
            "%Y:%m:%d %H:%M:%S"
        )
        details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    if exif_position is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", _dms(exif_position[0])
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", _dms(exif_position[1])
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    """Degrees as EXIF's (degrees, minutes, seconds)."""
    whole = int(degrees)
    minutes = (degrees - whole) * 60
    return float(whole), float(int(minutes)), round((minutes - int(minutes)) * 60, 4)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = colour
    return min(255, int(r * factor)), min(255, int(g * factor)), min(255, int(b * factor))


def _scene(rng: random.Random, width: int, height: int, fixed: bool) -> Image.Image:
    """A plant scene: outdoors (sky, sheds, pipe racks) or indoors (wall, machine, ducts, gauges).

    Laid out on an 800×600 grid and drawn at ``width``×``height``.
    """
    k = width / 800

    def box(*values: float) -> list[int]:
        return [round(v * k) for v in values]

    indoor = rng.random() < 0.5
    horizon = rng.randrange(200, 300) if not indoor else rng.randrange(360, 480)
    upper = (rng.randrange(110, 150), rng.randrange(140, 175), rng.randrange(185, 225))
    if indoor:
        upper = (rng.randrange(150, 200), rng.randrange(145, 190), rng.randrange(130, 170))
    lower = (rng.randrange(95, 130), rng.randrange(90, 115), rng.randrange(80, 100))
    gradient = Image.linear_gradient("L")
    image = Image.new("RGB", (width, height))
    # Sky (or wall) lightens downwards, ground (or floor) darkens towards the camera.
    top = gradient.resize((width, round(horizon * k)))
    image.paste(
        Image.merge("RGB", [top.point(lambda v, c=c: c + (235 - c) * v // 400) for c in upper]), (0, 0)
    )
    bottom = gradient.resize((width, height - round(horizon * k)))
    lower_part = Image.merge("RGB", [bottom.point(lambda v, c=c: c * (255 - v // 3) // 255) for c in lower])
    image.paste(lower_part, (0, round(horizon * k)))
    pen = ImageDraw.Draw(image)
    steel = (rng.randrange(105, 150),) * 3
    rust = (rng.randrange(130, 170), rng.randrange(70, 95), rng.randrange(40, 60))
    if not indoor:
        for _ in range(rng.randrange(2, 5)):  # sheds with roofs and doors
            x, w, h = rng.randrange(-60, 720), rng.randrange(150, 330), rng.randrange(90, 200)
            wall = rng.choice([(188, 190, 192), (176, 172, 160), (150, 162, 175), (196, 186, 170)])
            pen.rectangle(box(x, horizon + 20 - h, x + w, horizon + 20), fill=wall, outline=_shade(wall, 0.7))
            roof = box(x - 8, horizon + 20 - h, x + w // 2, horizon - h - 25, x + w + 8, horizon + 20 - h)
            pen.polygon(roof, fill=rng.choice([(70, 95, 140), (120, 60, 50), (90, 100, 105)]))
            door = rng.randrange(x + 20, x + max(21, w - 70))
            pen.rectangle(box(door, horizon - 50, door + 50, horizon + 20), fill=_shade(wall, 0.55))
        for _ in range(rng.randrange(1, 3)):  # chimneys and silos
            x = rng.randrange(0, 760)
            pen.rectangle(
                box(x, horizon - rng.randrange(150, 240), x + rng.randrange(18, 40), horizon + 10), fill=steel
            )
        for _ in range(rng.randrange(1, 3)):  # a pipe rack across the yard
            y = rng.randrange(horizon - 60, horizon + 10)
            pen.line(
                box(0, y, 800, y + rng.randrange(-15, 15)), fill=rust, width=round(rng.randrange(8, 16) * k)
            )
    else:
        x, w, h = rng.randrange(60, 380), rng.randrange(220, 360), rng.randrange(160, 260)
        pen.rounded_rectangle(box(x, horizon - h, x + w, horizon + 10), radius=round(14 * k), fill=steel,
                              outline=_shade(steel, 0.6))  # fmt: skip
        for n in range(rng.randrange(1, 4)):  # gauges
            cx, cy = x + 30 + 55 * n, horizon - h + 40
            pen.ellipse(
                box(cx - 18, cy - 18, cx + 18, cy + 18), fill=(235, 235, 230), outline=(40, 40, 40), width=2
            )
            pen.line(box(cx, cy, cx + rng.randrange(-14, 14), cy - 12), fill=(180, 20, 20), width=2)
        for _ in range(rng.randrange(2, 4)):  # ducts and pipes on the wall
            px = rng.randrange(0, 770)
            pen.rectangle(
                box(px, 0, px + rng.randrange(14, 34), horizon), fill=rng.choice([rust, (60, 110, 70), steel])
            )
        for _ in range(rng.randrange(20, 60)):  # dust on the floor
            dx, dy = rng.randrange(800), rng.randrange(horizon, 600)
            pen.ellipse(box(dx, dy, dx + rng.randrange(3, 8), dy + rng.randrange(2, 5)), fill=(205, 200, 190))
    if fixed:
        # What the rectification installed: a warning sign and a new alarm box with its green light.
        sx, sy = rng.randrange(80, 580), rng.randrange(90, max(91, horizon - 140))
        pen.polygon(
            box(sx, sy + 70, sx + 40, sy, sx + 80, sy + 70), fill=(250, 204, 21), outline=(20, 20, 20)
        )
        pen.line(box(sx + 40, sy + 25, sx + 40, sy + 50), fill=(20, 20, 20), width=max(1, round(6 * k)))
        pen.rectangle(
            box(sx + 110, sy + 10, sx + 180, sy + 80), fill=(230, 232, 228), outline=(60, 60, 60), width=2
        )
        pen.ellipse(box(sx + 135, sy + 22, sx + 155, sy + 42), fill=(40, 200, 90))
    return image


def signature_png(rng: random.Random) -> bytes:
    """A hand signature as the PWA's pad saves it: dark strokes on a white 600×180 PNG."""
    # Greyscale: the ink is one colour, and the pad's size and look are what matter.
    image = Image.new("L", (600, 180), 255)
    pen = ImageDraw.Draw(image)
    x = rng.randrange(40, 90)
    for _ in range(rng.randrange(3, 6)):
        y = rng.randrange(60, 120)
        points = [(x, y)]
        for _ in range(rng.randrange(6, 14)):
            x += rng.randrange(6, 22)
            y = min(165, max(15, y + rng.randrange(-30, 31)))
            points.append((x, y))
        pen.line(points, fill=30, width=3, joint="curve")
        x += rng.randrange(12, 34)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
