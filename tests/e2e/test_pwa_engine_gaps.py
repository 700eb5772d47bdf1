"""What older Safari and some Firefox versions lack, imitated in Chromium: no OffscreenCanvas, and a
createImageBitmap that refuses options (imageOrientation). Photos are still re-encoded and kept, and the
scanner still reads a code, through the page's own <canvas> and <img>."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.conftest import (
    CHROMIUM_ARGS,
    LiveServer,
    choose_partner,
    fake_camera,
    qr_video,
    sign_in_app,
    signed_payload,
)

pytestmark = pytest.mark.e2e
#: An enterprise no other browser test inspects (they count inspections per enterprise).
NAME = "兴县绿源饲料有限公司"

WITHOUT = """
delete globalThis.OffscreenCanvas;
const decode = globalThis.createImageBitmap;
globalThis.createImageBitmap = (image, ...rest) =>
  rest.length && typeof rest[rest.length - 1] === "object"
    ? Promise.reject(new TypeError("createImageBitmap options are not supported"))
    : decode(image, ...rest);
"""


def test_photo_and_scan_without_offscreen_canvas(built_app: None, live_server: LiveServer, playwright_driver: Any,
                                                 chromium_path: str, tmp_path: Path) -> None:  # fmt: skip
    photo = tmp_path / "evidence.jpg"
    Image.new("RGB", (3000, 2000), (120, 90, 60)).save(photo, "JPEG", quality=80)
    video = qr_video(signed_payload(live_server, NAME), tmp_path / "poster.y4m")
    browser = playwright_driver.chromium.launch(
        executable_path=chromium_path, headless=True, args=[*CHROMIUM_ARGS, *fake_camera(video)]
    )
    try:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
        context.add_init_script(WITHOUT)
        page = context.new_page()
        sign_in_app(page, live_server.url, "xx_insp2")
        assert page.evaluate("() => typeof OffscreenCanvas") == "undefined"
        page.click("button.scan-button")  # frames drawn on a page canvas
        page.wait_for_selector(".enterprise-page h2", timeout=20_000)
        assert page.locator(".enterprise-page h2").inner_text() == NAME
        choose_partner(page, "钱文博")
        page.click("text=开始检查")
        page.wait_for_selector("article.item")
        first = page.locator("article.item").first
        first.locator("button.choice.compliant").click()
        first.locator(".photos input[type=file]").set_input_files(str(photo))
        thumb = first.locator(".photos img.thumb")
        thumb.wait_for(timeout=30_000)
        for _ in range(100):
            if thumb.evaluate("img => img.complete && img.naturalWidth > 0"):
                break
            page.wait_for_timeout(100)
        # Re-encoded (long edge 2048) and stored: the thumbnail shows the stored JPEG itself.
        assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [2048, 1365]
    finally:
        browser.close()
