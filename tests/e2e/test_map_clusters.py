"""Issue 17, item 5: a map with more points than MAP_CLUSTER_ABOVE (a province) draws counted circles per layer
and asks the server for the visible box at each move, under the page's real CSP, in Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e import webpages
from tests.e2e.conftest import LiveServer, free_port, start_server, stop_server


@pytest.fixture(scope="module")
def clustered_server(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server on the demo's database that clusters as soon as two points are in view."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**live_server.env, "PORT": str(port), "PUBLIC_BASE_URL": url, "MAP_CLUSTER_ABOVE": "1"}
    process = start_server(env, tmp_path_factory.mktemp("clustered") / "server.log")
    try:
        yield url
    finally:
        stop_server(process)


def _drawn(page: Any, selector: str = ".map-cluster") -> int:
    """The sum of the counts the circles show (the demo's counts stay under 10,000: no "k")."""
    return sum(int(text) for text in page.locator(selector).all_inner_texts())


def test_a_clustered_map_draws_counts_and_follows_the_view(browser: Any, clustered_server: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Errors of the page's own (a CSP refusal among them); the site has no favicon, which is not one.
    page.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and "favicon" not in m.location["url"] else None
        ),
    )
    webpages.sign_in(page, clustered_server, "xx_sup")
    with page.expect_response(lambda r: "/api/map/points?" in r.url) as first:
        page.goto(f"{clustered_server}/map")
    data = page.evaluate("JSON.parse(document.getElementById('map-data').textContent)")
    assert data["clustered"] is True and data["total"] > 1 and page.locator("#map-clustered").count() == 1
    query = parse_qs(urlsplit(first.value.url).query)
    assert set(query) == {"south", "west", "north", "east", "zoom"}
    reply = first.value.json()
    assert reply["clustered"] is True
    # What is drawn is the answer for the view: one circle per cell and layer, counts adding up.
    page.wait_for_function(
        "n => [...document.querySelectorAll('.map-cluster')].reduce((s, e) => s + Number(e.textContent), 0) === n",
        arg=reply["total"],
    )
    assert page.locator(".map-cluster").count() == len(reply["clusters"])
    overdue = sum(1 for c in reply["clusters"] if c["overdue"])
    assert page.locator(".map-cluster-overdue").count() == overdue
    # The filters still hide a layer.
    enterprises = sum(c["count"] for c in reply["clusters"] if c["layer"] == "enterprise")
    assert enterprises > 0 and _drawn(page, ".map-cluster-enterprise") == enterprises
    page.uncheck('#map-filters input[value="enterprise"]')
    assert page.locator(".map-cluster-enterprise").count() == 0
    # Zooming in asks again, for a smaller box at the next zoom.
    with page.expect_response(lambda r: "/api/map/points?" in r.url) as second:
        page.click(".leaflet-control-zoom-in")
    zoomed = parse_qs(urlsplit(second.value.url).query)
    assert int(zoomed["zoom"][0]) == int(query["zoom"][0]) + 1
    assert float(zoomed["north"][0]) - float(zoomed["south"][0]) < float(query["north"][0]) - float(
        query["south"][0]
    )
    assert not problems, problems
    context.close()
