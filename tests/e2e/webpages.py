"""Walking the supervisors' and enterprises' pages in Chromium: sign in on the web form, find every page a user
can reach (one of each kind), measure horizontal overflow and run axe-core (from pwa/node_modules, served from
disk: no CDN) on each."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "pwa" / "node_modules" / "axe-core" / "axe.min.js"

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

#: Links that are not pages to look at: downloads, images, API, the app, actions.
NOT_PAGES = re.compile(
    r"(\.xlsx|\.pdf|\.png|\.jpg|\.csv|\.json|/photos/|/api/|/app/|/static/|/web-assets/|/logout|/q/)"
)
#: Ids in paths: a page of each kind is visited once (the first found).
IDS = re.compile(
    r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d{2}(?:-\d{2})?|\d+)(?=/|$)"
)


def sign_in(page: Any, url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in on the web sign-in form."""
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def kind_of(path: str) -> str:
    """A page's kind: its path with ids replaced (one of each kind is visited)."""
    return IDS.sub("/<id>", path)


def crawl(page: Any, url: str, start: Iterable[str], limit: int = 60) -> list[str]:
    """The pages reachable from ``start`` through same-site links, one per kind, breadth first."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        kind = kind_of(urlsplit(path).path)
        if kind in seen or NOT_PAGES.search(path):
            continue
        try:
            response = page.goto(f"{url}{path}")
        except Exception:  # a download (an export linked without its extension) is no page
            continue
        if (
            response is None
            or response.status != 200
            or "text/html" not in response.headers.get("content-type", "")
        ):
            continue
        seen[kind] = path
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        for href in hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if kind_of(parts.path) not in seen:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return list(seen.values())


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


@dataclass
class AxeResult:
    """axe-core's violations on one page, by impact."""

    path: str
    violations: list[dict[str, Any]] = field(default_factory=list)

    def count(self, *impacts: str) -> int:
        """Nodes violating a rule of one of ``impacts``."""
        return sum(len(v["nodes"]) for v in self.violations if v["impact"] in impacts)

    def serious(self) -> list[str]:
        """The serious or critical violations, one line each (rule, nodes, first target)."""
        return [
            f"{v['id']} ×{len(v['nodes'])}: {v['nodes'][0]['target']} {v['nodes'][0].get('failureSummary', '')[:160]}"
            for v in self.violations
            if v["impact"] in ("serious", "critical")
        ]


def run_axe(page: Any, path: str) -> AxeResult:
    """Run axe-core (WCAG 2 A/AA rules and best practices) on the page open now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return AxeResult(path, result["violations"])
