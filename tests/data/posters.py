"""Hard poster photos: genuine posters (the server's own renderer, signed payloads) photographed badly.

    .venv/bin/python -m tests.data.posters OUT_DIR [--seed N] [--per-kind 5]

Each kind imitates what an inspector meets on site: ``easy`` (a poster held square at a usual distance),
``glare`` (a light reflected on the laminate), ``blur`` (out of focus or a moving hand), ``angle`` (a steep
perspective), ``dark`` (a dim workshop, with sensor noise), ``small`` (far away, the code a small part of
the frame), ``screen`` (the poster photographed from a monitor: moiré and a washed-out black), ``noise``
(a cheap sensor at high gain) and ``jpeg`` (heavy compression). Frames are 1280×960, what a tablet's rear
camera gives the scan screen. Pillow only; the same seed gives the same set, another seed an unseen one.
Nothing is committed but this script: the images are made at test or bench time (a few seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter

from server.documents.posters import render_poster
from server.domain.credit_code import make_credit_code
from server.qrcodes import signing

KINDS = ("easy", "glare", "blur", "angle", "dark", "small", "screen", "noise", "jpeg")
FRAME = (1280, 960)
BASE_URL = "https://yjj.lvliang.gov.cn"
NAMES = (
    "兴县森宇木业有限公司",
    "临县恒达铝业铸造有限公司",
    "吕梁市金星钢铁集团有限公司",
    "兴县丰源粉末冶金有限公司",
)


@dataclass(frozen=True)
class Enterprise:
    """What a poster names and encodes."""

    name: str
    credit_code: str
    payload: str


@dataclass(frozen=True)
class Shot:
    """One photographed poster: its file, kind and the payload it must decode to (nothing else)."""

    path: Path
    kind: str
    payload: str


def enterprises(
    key: ec.EllipticCurvePrivateKey, rng: random.Random, base_url: str = BASE_URL
) -> list[Enterprise]:
    """A few enterprises with valid credit codes and payloads signed by ``key``."""
    made = []
    for name in NAMES:
        body = "".join(rng.choice("0123456789") for _ in range(8))
        code = make_credit_code("9", "1", "141123", body)
        token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(16))
        made.append(
            Enterprise(name, code, signing.sign_payload(key, base_url, code, token, deterministic=True))
        )
    return made


def poster(enterprise: Enterprise) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The enterprise's A5 poster as the server prints it, and its QR box (left, top, side, module px)."""
    with Flask("posters").app_context():
        return render_poster(
            name=enterprise.name, credit_code=enterprise.credit_code, authority="兴县应急管理局",
            issued_on="2026年6月1日", payload=enterprise.payload,
        )  # fmt: skip


# --- Geometry ------------------------------------------------------------------------------------------


def _solve(matrix: list[list[float]], values: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8×8 here: no numpy needed)."""
    size = len(values)
    rows = [[*row, value] for row, value in zip(matrix, values, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> list[float]:
    """Pillow's PERSPECTIVE coefficients that map each ``target`` corner (output) to its ``source`` corner."""
    matrix, values = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    return _solve(matrix, values)


def _place(
    frame: Image.Image, sheet: Image.Image, corners: list[tuple[float, float]], shade: int
) -> Image.Image:
    """Paste ``sheet`` (L) into ``frame`` (RGB) so that its corners land on ``corners`` (tl, tr, br, bl)."""
    w, h = sheet.size
    coeffs = perspective_coefficients(corners, [(0, 0), (w, 0), (w, h), (0, h)])
    warped = sheet.transform(
        frame.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=0
    )
    mask = Image.new("L", sheet.size, 255).transform(
        frame.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR, fillcolor=0
    )
    paper = ImageEnhance.Brightness(warped).enhance(shade / 255).convert("RGB")
    frame.paste(paper, (0, 0), mask)
    return frame


def _wall(rng: random.Random) -> Image.Image:
    """A painted or concrete wall, lit unevenly."""
    tone = rng.randint(120, 200)
    tint = (tone, tone - rng.randint(0, 15), tone - rng.randint(5, 30))
    wall = Image.new("RGB", FRAME, tint)
    light = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize(FRAME)
    wall = Image.composite(wall, ImageEnhance.Brightness(wall).enhance(0.7), light)
    return ImageChops.add(wall, Image.effect_noise(FRAME, 10).convert("RGB"), 1, -128)


def _add_noise(image: Image.Image, sigma: float) -> Image.Image:
    """Gaussian sensor noise, independent per channel."""
    bands = [ImageChops.add(band, Image.effect_noise(image.size, sigma), 1, -128) for band in image.split()]
    return Image.merge("RGB", bands)


def _motion_blur(image: Image.Image, length: int, angle: float) -> Image.Image:
    """A hand moving during the exposure: the average of ``length`` shifted copies."""
    out = image
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    for step in range(1, length):
        shifted = ImageChops.offset(image, round(dx * step), round(dy * step))
        out = ImageChops.blend(out, shifted, 1 / (step + 1))
    return out


def _glare(image: Image.Image, centre: tuple[float, float], radius: float, strength: float) -> Image.Image:
    """A bright reflection: a soft white ellipse blended over the picture."""
    spot = Image.radial_gradient("L").resize((int(radius * 2), int(radius * 1.4)))
    spot = spot.point(lambda v: int(min(255, max(0, 255 - v) * 1.8) * strength))
    mask = Image.new("L", image.size, 0)
    mask.paste(spot, (int(centre[0] - radius), int(centre[1] - radius * 0.7)))
    return Image.composite(Image.new("RGB", image.size, (255, 255, 250)), image, mask)


def _screen(image: Image.Image, rng: random.Random) -> Image.Image:
    """A poster shown on a monitor and photographed: a pixel grid beating with the sensor's (moiré), a grey
    black and a cold white."""
    period = rng.uniform(2.6, 3.6)
    grid = Image.new("L", (FRAME[0] * 2, FRAME[1] * 2), 255)
    draw = ImageDraw.Draw(grid)
    position = 0.0
    while position < grid.size[0]:
        draw.line((position, 0, position, grid.size[1]), fill=95, width=1)
        draw.line((0, position, grid.size[0], position), fill=125, width=1)
        position += period
    grid = grid.rotate(rng.uniform(1.5, 6), resample=Image.Resampling.BILINEAR).crop(
        (FRAME[0] // 2, FRAME[1] // 2, FRAME[0] // 2 + FRAME[0], FRAME[1] // 2 + FRAME[1])
    )
    washed = image.point(lambda v: 55 + v * 0.7)
    r, g, b = washed.split()
    washed = Image.merge("RGB", (r.point(lambda v: v * 0.9), g, b.point(lambda v: min(255, v * 1.08))))
    return ImageChops.multiply(washed, grid.convert("RGB")).filter(ImageFilter.GaussianBlur(0.6))


# --- Scenes --------------------------------------------------------------------------------------------


def scene(
    kind: str, sheet: Image.Image, box: tuple[int, int, int, int], rng: random.Random
) -> tuple[Image.Image, int]:
    """A 1280×960 photo of ``sheet`` (a poster) of the given kind; returns it and the JPEG quality to save at."""
    left, top, side, _ = box
    qr_side = {"easy": (330, 480), "small": (92, 120), "angle": (330, 430)}.get(kind, (240, 380))
    scale = rng.uniform(*qr_side) / side
    w, h = sheet.size[0] * scale, sheet.size[1] * scale
    # Aim the camera at the code: its centre near the frame's centre.
    cx = FRAME[0] / 2 + rng.uniform(-60, 60) - (left + side / 2) * scale + w / 2
    cy = FRAME[1] / 2 + rng.uniform(-40, 40) - (top + side / 2) * scale + h / 2
    tilt = math.radians(rng.uniform(-12, 12))
    corners = []
    for px, py in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        corners.append(
            (cx + px * math.cos(tilt) - py * math.sin(tilt), cy + px * math.sin(tilt) + py * math.cos(tilt))
        )
    if kind == "angle":  # seen from the side: the far edge shrinks and draws in
        far = rng.uniform(0.38, 0.52)
        side_of = rng.choice((0, 1))
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
        mid_y = (y0 + y3) / 2 if side_of == 0 else (y1 + y2) / 2
        if side_of == 0:
            corners[0], corners[3] = (
                (x0 + w * 0.12, mid_y + (y0 - mid_y) * far),
                (x3 + w * 0.12, mid_y + (y3 - mid_y) * far),
            )
        else:
            corners[1], corners[2] = (
                (x1 - w * 0.12, mid_y + (y1 - mid_y) * far),
                (x2 - w * 0.12, mid_y + (y2 - mid_y) * far),
            )
    shade = rng.randint(205, 245)
    image = _place(_wall(rng), sheet, corners, shade)
    quality = 88
    module = side * scale / 61
    if kind == "easy":
        image = _add_noise(image, 4)
    elif kind == "glare":
        reach = side * scale
        spot = (FRAME[0] / 2 + rng.uniform(-0.3, 0.3) * reach, FRAME[1] / 2 + rng.uniform(-0.3, 0.3) * reach)
        image = _glare(_add_noise(image, 4), spot, reach * rng.uniform(0.45, 0.75), rng.uniform(0.93, 1.0))
    elif kind == "blur":
        if rng.random() < 0.5:
            image = image.filter(ImageFilter.GaussianBlur(module * rng.uniform(0.35, 0.6)))
        else:
            image = _motion_blur(image, round(module * rng.uniform(0.8, 1.25)), rng.uniform(0, 180))
        image = _add_noise(image, 4)
    elif kind == "angle":
        image = _add_noise(image.filter(ImageFilter.GaussianBlur(0.7)), 5)
    elif kind == "dark":
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.09, 0.16))
        image = _add_noise(image, rng.uniform(7, 11))
        quality = 75
    elif kind == "small":
        image = _add_noise(image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 0.8))), 5)
        quality = 80
    elif kind == "screen":
        image = _add_noise(_screen(image, rng), 4)
    elif kind == "noise":
        image = _add_noise(image, rng.uniform(60, 85))
    elif kind == "jpeg":
        image = image.filter(ImageFilter.GaussianBlur(0.6))
        quality = rng.randint(2, 5)
    return image, quality


def generate(out_dir: Path, *, seed: int = 2026, per_kind: int = 5, kinds: tuple[str, ...] = KINDS,
             signed: list[Enterprise] | None = None) -> list[Shot]:  # fmt: skip
    """Write ``per_kind`` photos of each kind into ``out_dir`` (JPEG) with a manifest; returns the shots.

    ``signed`` gives the enterprises to photograph (their payloads signed by the caller's key); by default a
    throwaway key signs a few made-up ones."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    # A key of the seed's own, signing deterministically: the same seed gives the very same photos.
    chosen = signed or enterprises(ec.derive_private_key(10**30 + seed, ec.SECP256R1()), rng)
    sheets = {e.payload: poster(e) for e in chosen}
    shots = []
    for kind in kinds:
        for index in range(per_kind):
            enterprise = chosen[(index + KINDS.index(kind)) % len(chosen)]
            sheet, box = sheets[enterprise.payload]
            image, quality = scene(kind, sheet, box, rng)
            path = out_dir / f"{kind}-{index:02d}.jpg"
            image.save(path, "JPEG", quality=quality)
            shots.append(Shot(path, kind, enterprise.payload))
    manifest = [{"file": s.path.name, "kind": s.kind, "payload": s.payload} for s in shots]
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return shots


def y4m_frames(images: list[Image.Image], path: Path, repeat: int = 1) -> Path:
    """A y4m video (what Chromium's fake camera plays) of ``images`` (RGB, all one even size), each shown
    ``repeat`` frames."""
    width, height = images[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for image in images:
            y, cb, cr = image.convert("YCbCr").split()
            # Video is limited range (luma 16–235, chroma 16–240): full-range values would be clipped.
            y = y.point(lambda v: 16 + round(v * 219 / 255))
            cb, cr = (c.point(lambda v: 128 + round((v - 128) * 224 / 255)) for c in (cb, cr))
            half = (width // 2, height // 2)
            frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
            for _ in range(repeat):
                out.write(b"FRAME\n" + frame)
    return path


def main() -> int:
    """Command line: write a set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-kind", type=int, default=5)
    args = parser.parse_args()
    shots = generate(args.out_dir, seed=args.seed, per_kind=args.per_kind)
    print(f"{len(shots)} photos in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
