"""The supervisors' and enterprises' pages in Chromium, on a phone (390×844) and a laptop (1280×800): every page a
user can reach has no serious or critical axe-core violation and does not scroll sideways on the phone; the main
pages are photographed at both sizes: into the test's own folder, or into docs/screenshots/web-*.png with
UPDATE_SCREENSHOTS=1 (so that a test run leaves the checkout as it was)."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e import webpages
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

SHOTS = webpages.ROOT / "docs" / "screenshots"

#: Who signs in, and where their pages start.
ROLES = {"admin": ["/dashboard", "/"], "xx_sup": ["/dashboard", "/"], "ll_city": ["/dashboard", "/"],
         "qy_jinxing": ["/portal"]}  # fmt: skip


@pytest.fixture(scope="module")
def axe_file() -> str:
    """axe-core from pwa/node_modules (npm ci); missing is a failure, never a skip: the check would be lost."""
    assert webpages.AXE.is_file(), "axe-core is missing: run `npm ci` in pwa/"
    return str(webpages.AXE)


@pytest.mark.parametrize("username", list(ROLES))
def test_every_page_passes_axe_and_fits_a_phone(
    live_server: LiveServer, open_context: Any, axe_file: str, username: str
) -> None:
    phone = open_context(webpages.PHONE)
    webpages.sign_in(phone, live_server.url, username)
    paths = webpages.crawl(phone, live_server.url, ROLES[username])
    assert len(paths) >= (8 if username.startswith("qy_") else 12), paths
    laptop = open_context(webpages.LAPTOP)
    webpages.sign_in(laptop, live_server.url, username)
    failures: list[str] = []
    print(
        f"\naxe-core on {len(paths)} pages as {username} (serious+critical / moderate+minor; phone overflow px):"
    )
    for path in paths:
        phone.goto(f"{live_server.url}{path}")
        wide = webpages.overflow(phone)
        small = webpages.run_axe(phone, path)
        laptop.goto(f"{live_server.url}{path}")
        large = webpages.run_axe(laptop, path)
        serious = small.count("serious", "critical") + large.count("serious", "critical")
        minor = small.count("moderate", "minor") + large.count("moderate", "minor")
        print(f"  {path:<70} {serious:>3} / {minor:<3} overflow {wide}")
        if serious:
            failures += [f"{path} (390): {line}" for line in small.serious()]
            failures += [f"{path} (1280): {line}" for line in large.serious()]
        if wide > 0:
            failures.append(f"{path}: the page scrolls sideways by {wide}px at 390px")
    print("\n".join(failures))
    assert failures == []


#: The main pages photographed: (file name, who, path or a function of the live server giving it).
MAIN_PAGES = [
    ("dashboard", "xx_sup", "/dashboard"),
    ("hazards", "xx_sup", "/hazards"),
    ("enterprises", "xx_sup", "/enterprises"),
    ("enterprise", "xx_sup", "enterprise"),
    ("review", "xx_sup", "/inspections"),
    ("reconciliation", "xx_sup", "/reconciliation"),
    ("report", "xx_sup", "/reports/monthly"),
    ("map", "xx_sup", "/map"),
    ("portal-ledger", "qy_jinxing", "/portal/ledger"),
    ("portal-hazards", "qy_jinxing", "/portal/hazards"),
]


def _first_link(page: Any, url: str, listing: str, prefix: str) -> str:
    page.goto(f"{url}{listing}")
    href = page.locator(f"main a[href^='{prefix}']").first.get_attribute("href")
    assert href
    return str(href)


def test_main_pages_at_phone_and_laptop_size(
    live_server: LiveServer, open_context: Any, tmp_path: Path
) -> None:
    shots = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages: dict[str, Any] = {}
    written: list[str] = []
    for name, username, target in MAIN_PAGES:
        for size, viewport in (("390", webpages.PHONE), ("1280", webpages.LAPTOP)):
            key = f"{username}-{size}"
            if key not in pages:
                pages[key] = open_context(viewport)
                webpages.sign_in(pages[key], live_server.url, username)
            page = pages[key]
            path = (
                _first_link(page, live_server.url, "/enterprises", "/enterprises/")
                if target == "enterprise"
                else target
            )
            page.goto(f"{live_server.url}{path}")
            if name == "map":
                page.wait_for_selector("#map canvas")
                page.wait_for_timeout(300)
            assert page.locator("main h1").count() == 1
            if size == "390":
                assert webpages.overflow(page) <= 0, name
                # The header is compact: the title on one line, and no more than a fifth of the screen.
                brand = page.locator("header.top .brand").bounding_box()
                assert brand is not None and brand["height"] < 40, name
                header = page.locator("header.top").bounding_box()
                assert header is not None and header["height"] <= 844 / 5, name
            out = shots / f"web-{name}-{size}.png"
            # Kept small in the repository: the viewport only, in 256 colours (text and flat fills lose nothing).
            Image.open(BytesIO(page.screenshot())).convert("RGB").quantize(256).save(out, optimize=True)
            written.append(out.name)
    print("\nscreenshots:", " ".join(written))
    assert len(written) == 2 * len(MAIN_PAGES)
