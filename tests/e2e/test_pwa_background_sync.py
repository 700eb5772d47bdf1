"""Background Sync: records made offline are sent when the network returns even though the app's page
was closed meanwhile — the service worker does it."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from server.models import Device, SyncMutation, User
from tests.e2e.conftest import LiveServer, answer, sign_in_app, start_inspection, wait_for_service_worker

pytestmark = pytest.mark.e2e


def _held(live_server: LiveServer, username: str) -> int:
    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            devices = (
                sa.select(Device.id).join(User, Device.user_id == User.id).where(User.username == username)
            )
            return int(conn.execute(sa.select(sa.func.count()).select_from(SyncMutation)
                                    .where(SyncMutation.device_id.in_(devices))).scalar_one())  # fmt: skip
    finally:
        engine.dispose()


def test_the_service_worker_sends_the_outbox_with_the_app_closed(built_app: None, live_server: LiveServer,
                                                                 page: Any) -> None:  # fmt: skip
    sign_in_app(page, live_server.url, "xx_expert")
    wait_for_service_worker(page)
    context = page.context
    context.set_offline(True)
    codes = start_inspection(page, "兴县汾河酿造有限公司", "孙工")
    for code in codes[:2]:
        answer(page, code, "compliant")
    # Each save registers the background sync: wait until it is registered (a loaded machine can take a while).
    for _ in range(100):
        if "outbox" in page.evaluate("async () => (await navigator.serviceWorker.ready).sync.getTags()"):
            break
        page.wait_for_timeout(100)
    assert _held(live_server, "xx_expert") == 0
    page.close()  # the inspector closes the app

    context.set_offline(False)  # back in range: only the service worker is left to sync
    deadline = time.monotonic() + 30
    while _held(live_server, "xx_expert") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _held(live_server, "xx_expert") == 3  # the inspection and two answers, once each
