"""Scanning in Chromium with a fake camera playing a QR code: a genuine code opens its enterprise, offline;
a forged one is refused with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from server.models import Blob, Device, Photo, User
from tests.e2e.conftest import (
    CHROMIUM_ARGS,
    LiveServer,
    fake_camera,
    qr_video,
    sign_in_app,
    signed_payload,
    start_inspection,
)

pytestmark = pytest.mark.e2e
NAME = "兴县森宇木业有限公司"


@pytest.fixture
def camera_page(playwright_driver: Any, chromium_path: str) -> Iterator[Any]:
    """A page factory whose browser's camera plays a given y4m file."""
    browsers: list[Any] = []

    def open_(video: Path) -> Any:
        browser = playwright_driver.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=[*CHROMIUM_ARGS, *fake_camera(video)],
        )  # fmt: skip
        browsers.append(browser)
        return browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()

    yield open_
    for browser in browsers:
        browser.close()


def _sign_in_and_scan(page: Any, url: str) -> None:
    sign_in_app(page, url, "xx_insp2")
    page.context.set_offline(True)  # the check needs no network: the key came with sign-in
    page.click("button.scan-button")


def test_a_genuine_code_opens_its_enterprise_offline(built_app: None, live_server: LiveServer, camera_page: Any,
                                                     tmp_path: Path) -> None:  # fmt: skip
    page = camera_page(qr_video(signed_payload(live_server, NAME), tmp_path / "genuine.y4m"))
    _sign_in_and_scan(page, live_server.url)
    page.wait_for_selector(".enterprise-page h2", timeout=20_000)
    assert page.locator(".enterprise-page h2").inner_text() == NAME


def test_a_forged_code_is_refused_with_the_reason(built_app: None, live_server: LiveServer, camera_page: Any,
                                                  tmp_path: Path) -> None:  # fmt: skip
    forger = ec.generate_private_key(ec.SECP256R1())
    page = camera_page(qr_video(signed_payload(live_server, NAME, forger), tmp_path / "forged.y4m"))
    _sign_in_and_scan(page, live_server.url)
    page.wait_for_selector("[data-testid=scan-refusal]", timeout=20_000)
    assert "签名无效" in page.locator("[data-testid=scan-refusal]").inner_text()


def test_a_photo_taken_with_the_live_camera_is_kept_as_evidence(built_app: None, live_server: LiveServer,
                                                                camera_page: Any, tmp_path: Path) -> None:  # fmt: skip
    page = camera_page(qr_video(signed_payload(live_server, NAME), tmp_path / "scene.y4m"))
    sign_in_app(page, live_server.url, "xx_insp4")
    start_inspection(page, "兴县宏达木制品加工厂", "赵志强")
    first = page.locator("article.item").first
    first.locator("button.choice.compliant").click()
    first.locator("button.live-camera").click()
    first.locator("video.camera").wait_for()
    page.wait_for_timeout(500)  # a few frames from the fake camera
    first.locator("button.shutter").click()
    first.locator(".photos .thumb").wait_for(timeout=20_000)
    for _ in range(200):  # online all along: the app syncs after each save
        if page.locator("[data-testid=unsent-photos]").inner_text().startswith("0 "):
            break
        page.wait_for_timeout(100)
    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(Photo.entity_type, Blob.width, Blob.height).join(Blob, Blob.sha256 == Photo.sha256)
                .join(Device, Device.id == Photo.device_id).join(User, User.id == Device.user_id)
                .where(User.username == "xx_insp4")
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    assert [(r.entity_type, r.width, r.height) for r in rows] == [("item_result", 640, 480)]
