"""A new version of the app deployed while an inspector is typing: the page is not reloaded and nothing
typed is lost; the app offers the update and applies it only when asked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench._common import serve, stop
from tests.e2e.conftest import DIST, choose_partner, sign_in_app, wait_for_service_worker

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_server(built_app: None, seeded_template: str, tmp_path: Path, qr_key_file: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:  # fmt: skip
    """A server of its own, serving a copy of the built app that the test can redeploy."""
    if not seeded_template.startswith("sqlite"):
        pytest.skip("browser tests run against SQLite")
    dist = tmp_path / "dist"
    shutil.copytree(DIST.parent, dist)
    database = tmp_path / "app.db"
    shutil.copyfile(sa.make_url(seeded_template).database or "", database)
    monkeypatch.setenv("PWA_DIST", str(dist))
    monkeypatch.setenv("QR_SIGNING_KEY_FILE", qr_key_file)
    process, url = serve(f"sqlite:///{database}", tmp_path / "instance")
    yield url, dist
    stop(process)


def test_an_update_never_reloads_a_page_with_unsaved_input(own_server: tuple[str, Path], page: Any) -> None:
    url, dist = own_server
    sign_in_app(page, url, "xx_insp4")
    wait_for_service_worker(page)
    page.locator("li[data-enterprise-id]").first.click()
    choose_partner(page, "正在输入的同行人员")  # not a colleague: typed by hand
    page.evaluate("() => { window.__sameDocument = true; }")

    worker = dist / "sw.js"  # a new deployment: the service worker's bytes change
    worker.write_text(worker.read_text(encoding="utf-8") + "\n// v2\n", encoding="utf-8")
    page.evaluate("() => navigator.serviceWorker.getRegistration('/app/').then((r) => r.update())")
    page.wait_for_selector("text=应用有新版本", timeout=20_000)

    assert page.evaluate("() => window.__sameDocument === true")  # not reloaded
    assert page.input_value("input[name=second]") == "正在输入的同行人员"  # nothing lost
    with page.expect_navigation(timeout=20_000):
        page.click("text=现在更新")  # only now, at the user's word
    assert not page.evaluate("() => window.__sameDocument === true")  # reloaded into the new version
