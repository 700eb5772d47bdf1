"""The app's push lost on the way (before the server) and on the way back (after the server committed):
the records still arrive exactly once."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from server.models import Device, Inspection, ItemResult, SyncMutation, User
from tests.e2e.conftest import LiveServer, answer, sign_in_app, start_inspection

pytestmark = pytest.mark.e2e


def test_a_push_cut_before_and_after_the_server_still_lands_once(built_app: None, live_server: LiveServer,
                                                                 page: Any) -> None:  # fmt: skip
    sign_in_app(page, live_server.url, "xx_insp3")
    page.context.set_offline(True)
    codes = start_inspection(page, "兴县丰源面粉有限公司", "高文斌")
    for code in codes[:3]:
        answer(page, code, "compliant")

    pushes: list[str] = []

    def faulty(route: Any) -> None:
        pushes.append("seen")
        if len(pushes) == 1:
            route.abort("internetdisconnected")  # never reaches the server
        elif len(pushes) == 2:
            route.fetch()  # the server applies and commits …
            route.abort("connectionreset")  # … but the reply is lost
        else:
            route.continue_()

    page.context.route("**/api/sync/push", faulty)
    page.context.set_offline(False)
    page.click("text=返回")
    for _ in range(300):
        if page.locator("[data-testid=unsent-changes]").inner_text() == "0":
            break
        sync_now = page.locator("text=立即同步")
        if sync_now.is_enabled():  # the app also retries by itself; this only shortens its backoff
            sync_now.click()
        page.wait_for_timeout(200)
    assert page.locator("[data-testid=unsent-changes]").inner_text() == "0"
    assert len(pushes) >= 3

    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            user_id = conn.execute(sa.select(User.id).where(User.username == "xx_insp3")).scalar_one()
            devices = conn.execute(sa.select(Device.id).where(Device.user_id == user_id)).scalars().all()
            seqs = conn.execute(sa.select(SyncMutation.seq).where(SyncMutation.device_id.in_(devices))
                                .order_by(SyncMutation.seq)).scalars().all()  # fmt: skip
            assert seqs == list(range(1, 5))  # the inspection and three answers, each once
            answers = (
                conn.execute(
                    sa.select(ItemResult.item_code)
                    .join(Inspection)
                    .where(Inspection.created_by_id == user_id)
                )
                .scalars()
                .all()
            )
            assert sorted(answers) == sorted(codes[:3])  # each answer once
    finally:
        engine.dispose()
