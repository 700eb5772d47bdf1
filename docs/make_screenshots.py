"""Screenshots for reviewers, docs/screenshots/*.png: the inspectors' app at tablet size (1280×800) and the
supervisors' pages at laptop width (1366 wide, whole page).

    .venv/bin/python docs/make_screenshots.py      (after `make pwa`; needs /usr/bin/chromium)

Chinese text needs a CJK font on the machine that renders (tablets have one): on Debian,
`apt-get install fonts-noto-cjk`; without it every Chinese character shows as a box.

Starts the real server on a scratch demo database, signs in as an inspector and walks the main screens,
then as the 兴县 supervisor through the dashboard, a review with flagged evidence, a hazard, an enterprise
and the map.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import fresh_database, seeded_app, serve, stop  # noqa: E402
from tests.conftest import DEMO_PASSWORD  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    """Make the screenshots."""
    from playwright.sync_api import sync_playwright

    logging.getLogger("alembic").setLevel(logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    with fresh_database("sqlite") as database_url, tempfile.TemporaryDirectory() as folder:
        seeded_app(database_url, Path(folder) / "instance")
        process, url = serve(database_url, Path(folder) / "instance")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
                page.goto(f"{url}/app/")
                page.wait_for_selector("form.login")
                page.screenshot(path=OUT / "01-sign-in.png")
                page.fill("input[name=username]", "xx_insp1")
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("ul.enterprises li")
                page.wait_for_timeout(500)
                page.screenshot(path=OUT / "02-home-enterprises-and-sync.png")
                page.locator("ul.enterprises li", has_text="兴县森宇木业有限公司").click()
                page.fill("input[name=second]", "刘晓燕")
                page.screenshot(path=OUT / "03-start-inspection.png")
                page.click("text=开始检查")
                page.wait_for_selector("article.item")
                codes = page.locator("article.item").evaluate_all("items => items.map(i => i.dataset.code)")
                for code in codes[1:4]:
                    page.locator(f"article.item[data-code='{code}'] button.choice.compliant").click()
                page.locator(f"article.item[data-code='{codes[0]}'] button.choice.non_compliant").click()
                page.wait_for_selector("form.hazard")
                page.locator("form.hazard textarea[name=description]").fill("除尘系统未设置泄爆装置")
                page.screenshot(path=OUT / "04-checklist-with-hazard.png")
                page.locator("form.hazard button[type=submit]").click()
                page.wait_for_selector("form.hazard .saved")
                for code in codes[4:]:
                    page.locator(f"article.item[data-code='{code}'] button.choice.compliant").click()
                page.wait_for_selector("section.signatures")
                page.locator("section.signatures").scroll_into_view_if_needed()
                page.screenshot(path=OUT / "05-signatures.png")
                supervisor_pages(browser, url, database_url)
                browser.close()
        finally:
            stop(process)
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))
    return 0


def supervisor_pages(browser: Any, url: str, database_url: str) -> None:
    """The supervisors' pages, signed in as the 兴县 supervisor, each as a whole page."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        far = conn.execute(
            sa.text(
                "SELECT inspection.id FROM inspection JOIN enterprise ON enterprise.id = inspection.enterprise_id "
                "WHERE enterprise.name = '山西吕梁兴达铸钢有限公司' LIMIT 1"
            )
        ).scalar_one()
        listed = conn.execute(sa.text("SELECT id FROM hazard WHERE listed LIMIT 1")).scalar_one()
        steel = conn.execute(
            sa.text("SELECT id FROM enterprise WHERE name = '兴县晋兴特钢有限公司'")
        ).scalar_one()
    engine.dispose()
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "xx_sup")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    shots = [
        ("10-dashboard.png", "/dashboard"),
        ("11-inspection-review-flagged.png", f"/inspections/{uuid.UUID(str(far))}"),
        ("12-hazard-listed-major.png", f"/hazards/{uuid.UUID(str(listed))}"),
        ("13-hazard-ledger-overdue.png", "/hazards?overdue=1"),
        ("14-enterprise.png", f"/enterprises/{uuid.UUID(str(steel))}"),
        ("15-map.png", "/map"),
    ]  # fmt: skip
    for name, path in shots:
        page.goto(f"{url}{path}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        page.screenshot(path=OUT / name, full_page=True)
    page.close()


if __name__ == "__main__":
    raise SystemExit(main())
