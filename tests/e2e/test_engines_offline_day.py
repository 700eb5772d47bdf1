"""The offline day's essentials on the engines tablets also run: WebKit (iPads' engine family: WebKitGTK's
MiniBrowser) and Firefox ESR, from Debian's packages (tests/e2e/engines.py).

Sign in (Firefox must not wait on navigator.storage.persist(), which it answers only through a prompt);
the server then goes away (the tablet is out of range): the app reloads from its service worker with its
data from IndexedDB; the scanner opens the camera (a mock one), says what to try after 3 s and leads to the
manual search; an inspection is made with a photo and three signatures and submitted; the server comes back
and the app syncs it (no Background Sync on these engines: the app syncs from the page). The server then
holds it exactly once with its seal, photo and signatures verified.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from server.models import Blob, Enterprise, Inspection, ItemResult, Photo
from tests.conftest import DEMO_PASSWORD, link_media
from tests.e2e.conftest import free_port, start_server, stop_server
from tests.e2e.engines import Browser, firefox, webkit

pytestmark = pytest.mark.e2e
ENTERPRISE = "兴县宏达木制品加工厂"
#: Sign-in must be done well before this (Firefox's used to hang for over a minute on the storage prompt).
SIGN_IN_SECONDS = 20


class OwnServer:
    """A server of this test's own (a copy of the demo database), that can be stopped and started again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.process: Any = None

    def start(self) -> None:
        """Serve (again, on the same port and data)."""
        self.process = start_server(self.env, self.log)

    def stop(self) -> None:
        """Go away, as the network does out of range."""
        if self.process is not None:
            stop_server(self.process)
            self.process = None


@pytest.fixture
def own_server(
    built_app: None, seeded_template: str, seeded_instance: Path, qr_key_file: str, tmp_path: Path
) -> Iterator[OwnServer]:
    """A gunicorn on a copy of the seeded demo database, for this test alone."""
    if not seeded_template.startswith("sqlite"):
        pytest.skip("browser tests run against SQLite")
    database = tmp_path / "live.db"
    shutil.copyfile(sa.make_url(seeded_template).database or "", database)
    link_media(seeded_instance / "media", tmp_path / "instance" / "media")
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{database}", "INSTANCE_PATH": str(tmp_path / "instance"),
        "QR_SIGNING_KEY_FILE": qr_key_file, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "e2e-secret", "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }  # fmt: skip
    server = OwnServer(env, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


def _counters_clear(browser: Browser) -> bool:
    changes = browser.text("[data-testid=unsent-changes]").strip()
    photos = browser.text("[data-testid=unsent-photos]").strip()
    return changes == "0" and photos.startswith("0 ")


def _offline_day(browser: Browser, server: OwnServer, tmp_path: Path) -> None:
    photo = tmp_path / "evidence.jpg"
    Image.new("RGB", (1600, 1200), (120, 90, 60)).save(photo, "JPEG", quality=80)
    browser.goto(f"{server.url}/app/")
    browser.fill("input[name=username]", "xx_insp3")
    browser.fill("input[name=password]", DEMO_PASSWORD)
    started = time.monotonic()
    browser.click("button[type=submit]")
    browser.wait_for("ul.enterprises li", timeout=SIGN_IN_SECONDS)
    signed_in = time.monotonic() - started
    assert signed_in < SIGN_IN_SECONDS
    browser.wait_until(lambda: browser.js("return navigator.serviceWorker.controller !== null"),
                       "the service worker taking control")  # fmt: skip

    server.stop()  # out of range
    print("controller", browser.js("return [navigator.serviceWorker.controller?.scriptURL, location.href]"))
    browser.js_async("const done = arguments[arguments.length - 1]; caches.keys().then((k) => done(k));")
    print(
        "caches",
        browser.js_async("const done = arguments[arguments.length - 1]; caches.keys().then((k) => done(k));"),
    )
    browser.goto(f"{server.url}/app/")
    browser.wait_for("ul.enterprises li")  # the shell from the service worker, the list from IndexedDB

    browser.click("button.scan-button")  # the camera (a mock: no code in view) and the decoding worker
    browser.wait_for("video.scan-camera")
    tips = browser.wait_for("[data-testid=scan-tips]", timeout=15)
    assert tips and "靠近" in browser.text("[data-testid=scan-tips]")
    browser.click("[data-testid=manual-search]")
    browser.click_text("li[data-enterprise-id]", ENTERPRISE)
    browser.wait_for("select[name=partner]")  # the team picker: the region's inspectors, synced
    picked = browser.js(
        "const s = document.querySelector('select[name=partner]');"
        "const o = [...s.options].find((o) => o.text.startsWith(arguments[0]));"
        "s.value = o ? o.value : 'other'; s.dispatchEvent(new Event('change', {bubbles: true})); return Boolean(o);",
        "钱文博",
    )
    if not picked:
        browser.fill("input[name=second]", "钱文博")
        browser.fill("input[name=secondBadge]", "14112301004")
    browser.click_text("button", "开始检查")
    browser.wait_for("article.item")
    codes = browser.js("return [...document.querySelectorAll('article.item')].map((i) => i.dataset.code);")
    for code in codes:
        browser.click(f"article.item[data-code='{code}'] button.choice.compliant")
        browser.wait_for(f"article.item[data-code='{code}'] button.choice.compliant[aria-pressed='true']")
    browser.upload(f"article.item[data-code='{codes[0]}'] .photos input[type=file]", photo)
    browser.wait_for(f"article.item[data-code='{codes[0]}'] .photos .thumb", timeout=30)
    pads = browser.js(
        "return [...document.querySelectorAll('[data-testid^=sign-inspector-], [data-testid=sign-enterprise-rep]')]"
        ".map((p) => p.dataset.testid);"
    )
    browser.fill("input[name=rep]", "王建平")
    for wiggle, pad in enumerate(pads, start=2):
        browser.draw(f"[data-testid='{pad}'] canvas", wiggle)
        browser.click_text(f"[data-testid='{pad}'] button", "确认签名")
        browser.wait_for(f"[data-testid='{pad}'].signed")
    browser.click("button.submit")
    browser.wait_for("li[data-inspection-id]")
    assert int(browser.text("[data-testid=unsent-changes]")) > len(codes)

    server.start()  # back in range

    # No Background Sync on these engines: the page syncs. A round begun out of range may still be backing
    # off (the button is greyed meanwhile), so press 立即同步 as an inspector would, whenever it is enabled.
    def synced() -> bool:
        if _counters_clear(browser):
            return True
        browser.js("const b = [...document.querySelectorAll('button')].find((b) => b.textContent.includes('立即同步'));"
                   "if (b && !b.disabled) b.click();")  # fmt: skip
        time.sleep(1)
        return False

    browser.wait_until(synced, "the sync of the inspection", timeout=90)

    engine = sa.create_engine(server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(Inspection).join(Enterprise).where(Enterprise.name == ENTERPRISE)
                                .where(Inspection.status == "submitted")).all()  # fmt: skip
            assert len(rows) == 1, rows
            inspection = rows[0]
            assert inspection.seal_verified is True, inspection.seal_problem
            assert sorted(s["role"] for s in inspection.signatures) == [
                "enterprise_rep",
                "inspector",
                "inspector",
            ]
            answers = conn.execute(
                sa.select(ItemResult.item_code).where(ItemResult.inspection_id == inspection.id)
            )
            assert sorted(answers.scalars()) == sorted(codes)
            photos = conn.execute(sa.select(Blob.width, Blob.height).join(Photo, Photo.sha256 == Blob.sha256)
                                  .where(Photo.device_id == inspection.device_id)).all()  # fmt: skip
            assert [(p.width, p.height) for p in photos] == [(1600, 1200)]
    finally:
        engine.dispose()


def test_offline_day_on_firefox(own_server: OwnServer, tmp_path: Path) -> None:
    with firefox(tmp_path / "firefox") as browser:
        _offline_day(browser, own_server, tmp_path)


def test_offline_day_on_webkit(own_server: OwnServer, tmp_path: Path) -> None:
    with webkit(tmp_path / "webkit") as browser:
        _offline_day(browser, own_server, tmp_path)
