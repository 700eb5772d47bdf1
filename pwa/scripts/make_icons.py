"""Draw the app's icons (public/icon-192.png, icon-512.png) with Pillow and the bundled Noto Sans CJK.

Run from the repository root with the project's venv: .venv/bin/python pwa/scripts/make_icons.py
The PNGs are committed; run this again only to change them.
"""

from pathlib import Path

import noto_cjk_sans_otc
from PIL import Image, ImageDraw, ImageFont

PUBLIC = Path(__file__).resolve().parent.parent / "public"
BLUE = (11, 92, 173)


def draw(size: int) -> Image.Image:
    """A blue rounded square with 检 in white, safe inside the maskable zone."""
    image = Image.new("RGB", (size, size), BLUE)
    pen = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(noto_cjk_sans_otc.FONT_PATH), int(size * 0.5), index=2)
    pen.text((size / 2, size / 2), "检", font=font, fill="white", anchor="mm")
    margin = int(size * 0.18)
    pen.rounded_rectangle((margin, margin, size - margin, size - margin), radius=size // 12, outline="white",
                          width=max(2, size // 48))  # fmt: skip
    return image


if __name__ == "__main__":
    PUBLIC.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size).save(PUBLIC / f"icon-{size}.png", optimize=True)
