"""The real server (gunicorn, as `make run` starts it) and Debian's Chromium driven by Playwright.

Outside CI these tests skip when /usr/bin/chromium is absent; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import qrcode
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from server.models import Enterprise
from server.qrcodes import signing
from tests.conftest import DEMO_PASSWORD, link_media

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL and the environment it was started with."""

    url: str
    env: dict[str, str]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; missing is a skip on a developer's machine and a failure in CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server(
    seeded_template: str, seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory, qr_key_file: str
) -> Iterator[LiveServer]:
    """gunicorn with deploy/gunicorn.conf.py on a copy of the seeded demo database."""
    if not seeded_template.startswith("sqlite"):
        pytest.skip("browser tests run against SQLite")
    workdir = tmp_path_factory.mktemp("live")
    database = workdir / "live.db"
    shutil.copyfile(sa.make_url(seeded_template).database or "", database)
    # The demo's photos, so that the supervisor's pages show them (a copy of the database names them).
    link_media(seeded_instance / "media", workdir / "instance" / "media")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "INSTANCE_PATH": str(workdir / "instance"),
        "QR_SIGNING_KEY_FILE": qr_key_file,
        "PUBLIC_BASE_URL": url,
        "SECRET_KEY": "e2e-secret",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PYTHONPATH": str(ROOT),
    }
    process = start_server(env, workdir / "server.log")
    try:
        yield LiveServer(url, env)
    finally:
        stop_server(process)


def start_server(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """gunicorn as `make run` starts it, with ``env`` (its PORT among them); returns once it serves."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [gunicorn, "-c", str(ROOT / "deploy/gunicorn.conf.py"), "server:create_app()"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_server(process)
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.2)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server :func:`start_server` started."""
    if process.poll() is None:
        process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: str) -> Iterator[Any]:
    """The one Playwright driver of the session (a second sync driver cannot start in the same thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver: Any, chromium_path: str) -> Iterator[Any]:
    """One headless Chromium for the session."""
    instance = playwright_driver.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (cookies, storage) and page per test."""
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()


DIST = ROOT / "pwa" / "dist" / "index.html"


@pytest.fixture
def open_context(browser: Any) -> Iterator[Any]:
    """New browser contexts at a size; the page's CSP is bypassed only so that axe's script can be added."""
    contexts: list[Any] = []

    def open_(viewport: dict[str, int]) -> Any:
        context = browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def built_app() -> None:
    """The PWA must be built (make does it before the tests); missing is a failure in CI."""
    if not DIST.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("pwa/dist is missing: `make test` builds it before running the tests")
        pytest.skip("the PWA is not built (make pwa)")


@pytest.fixture
def open_profile(playwright_driver: Any, chromium_path: str, tmp_path: Path) -> Iterator[Any]:
    """Open (and reopen) one browser profile: IndexedDB and the service worker survive a restart."""
    opened: list[Any] = []

    def open_(extra_args: tuple[str, ...] = (), **options: Any) -> Any:
        context = playwright_driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium_path, headless=True,
            args=[*CHROMIUM_ARGS, *extra_args], locale="zh-CN", viewport={"width": 1280, "height": 800}, **options,
        )  # fmt: skip
        opened.append(context)
        return context

    yield open_
    for context in opened:
        context.close()


def fake_camera(video: Path) -> tuple[str, ...]:
    """Chromium flags that make its camera play ``video`` (a y4m file) with no permission prompt."""
    return ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}")  # fmt: skip


def sign_in_app(page: Any, url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Open the app and sign in (online, once); returns when the region's enterprises are listed."""
    page.goto(f"{url}/app/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("ul.enterprises li", timeout=30_000)


def choose_partner(page: Any, name: str, badge: str | None = None) -> None:
    """Pick the second inspector from the synced colleagues, or type someone else (name and badge number)."""
    picker = page.locator("select[name=partner]")
    if picker.count():
        colleagues = picker.locator("option:not([value='']):not([value='other'])")
        texts = colleagues.all_inner_texts()
        match = next(
            (i for i, text in enumerate(texts) if text.startswith(f"{name}（") or text == name), None
        )
        if match is not None:
            picker.select_option(colleagues.nth(match).get_attribute("value"))
            return
        picker.select_option("other")
    page.fill("input[name=second]", name)
    if badge:
        page.fill("input[name=secondBadge]", badge)


def start_inspection(page: Any, enterprise: str, second_inspector: str) -> list[str]:
    """From the home list, start an inspection at ``enterprise``; returns the applicable item codes."""
    page.locator("li[data-enterprise-id]", has_text=enterprise).click()
    choose_partner(page, second_inspector)
    page.click("text=开始检查")
    page.wait_for_selector("article.item")
    return [
        str(code)
        for code in page.locator("article.item").evaluate_all("items => items.map(i => i.dataset.code)")
    ]


def answer(page: Any, code: str, result: str) -> None:
    """Press one of an item's three buttons and wait until it shows as chosen (saved)."""
    page.locator(f"article.item[data-code='{code}'] button.choice.{result}").click()
    page.wait_for_selector(f"article.item[data-code='{code}'] button.choice.{result}[aria-pressed='true']")


def sign_pad(page: Any, test_id: str, wiggle: int) -> None:
    """Draw a stroke (its shape set by ``wiggle``: everyone signs differently) on a pad and confirm it."""
    pad = page.locator(f"[data-testid='{test_id}']")
    pad.locator("canvas").scroll_into_view_if_needed()
    box = pad.locator("canvas").bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 30 + step * 30, box["y"] + 120 - (step % wiggle) * 25)
    page.mouse.up()
    pad.locator("text=确认签名").click()
    page.wait_for_selector(f"[data-testid='{test_id}'].signed")


# The app retries a busy or unreachable server by itself (each request backs off up to a minute, then the
# round is retried on the scheduler's doubling delay), so how long a sync takes depends on the machine. A test
# waits for the outcome the inspector sees; this deadline only ends the wait for an app that is stuck.
SYNC_DEADLINE_MS = 180_000


def wait_for_sync(locator: Any, expected: str | re.Pattern[str]) -> None:
    """Until ``locator`` shows ``expected``: a state the app's own syncing reaches, however loaded the machine."""
    from playwright.sync_api import expect

    expect(locator).to_have_text(expected, timeout=SYNC_DEADLINE_MS)


def wait_until_sent(page: Any, *, photos: bool = True) -> None:
    """Until no change (and, with ``photos``, no photo) waits on the tablet, as its status panel shows."""
    wait_for_sync(page.locator("[data-testid=unsent-changes]"), "0")
    if photos:
        wait_for_sync(page.locator("[data-testid=unsent-photos]"), re.compile(r"^0 "))


def wait_for_service_worker(page: Any) -> None:
    """Until the service worker controls the page (`ready` can resolve while it is still activating).
    Polled from here: the app's CSP forbids the string evaluation wait_for_function would use."""
    for _ in range(200):
        if page.evaluate("() => navigator.serviceWorker.controller !== null"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the service worker never took control")


def qr_video(payload: str, path: Path, frames: int = 10) -> Path:
    """A y4m file (what Chromium's fake camera plays) showing the QR code of ``payload``."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=4, border=4)
    code.add_data(payload)
    image = code.make_image(fill_color="black", back_color="white").convert("L")
    side = min(440, image.size[0] * 2)
    frame = Image.new("L", (640, 480), 235)
    frame.paste(image.resize((side, side), Image.Resampling.NEAREST), ((640 - side) // 2, (480 - side) // 2))
    luma, chroma = frame.tobytes(), bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def signed_payload(live_server: LiveServer, name: str, key: ec.EllipticCurvePrivateKey | None = None) -> str:
    """The URL the bureau prints in ``name``'s QR code (signed with ``key`` instead, to forge one)."""
    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            code, token = conn.execute(
                sa.select(Enterprise.credit_code, Enterprise.qr_token).where(Enterprise.name == name)
            ).one()
    finally:
        engine.dispose()
    bureau = key or signing.load_or_create_key(Path(live_server.env["QR_SIGNING_KEY_FILE"]))
    return signing.sign_payload(bureau, live_server.url, code, token)
