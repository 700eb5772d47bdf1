"""A supervisor confirms a proposed reconciliation pair in Chromium: the enterprise's reconciliation page, with its
确认 / 不是同一隐患 / 撤销 forms and hand pairing, has no serious or critical axe-core violation and does not scroll
sideways on a phone, before and after the confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e import webpages
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

PHASE = "county_coverage"


def _ledger_copies(live_server: LiveServer) -> str:
    """Arrange: a 兴县 enterprise's ledger held one of its county-coverage findings the day before it was found, and
    one hazard no inspector found; the path of its reconciliation page."""
    from datetime import timedelta

    import sqlalchemy as sa

    from server import clock, create_app
    from server.domain.hazards import HazardLevel
    from server.extensions import db
    from server.models import Enterprise, HazardSource, User
    from server.services.hazards import record_hazard
    from server.services.reconciliation import reconcile_scope, resolve_phase

    app = create_app({"DATABASE_URL": live_server.env["DATABASE_URL"], "INSTANCE_PATH": live_server.env["INSTANCE_PATH"],
                      "SECRET_KEY": "e2e-secret", "QR_SIGNING_KEY_FILE": live_server.env["QR_SIGNING_KEY_FILE"]})  # fmt: skip
    with app.app_context():
        sup = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert sup is not None
        window = resolve_phase(db.session, sup, PHASE, clock.today(), clock.zone())
        assert window is not None
        result = reconcile_scope(db.session, sup, window, clock.today(), zone=clock.zone())
        row = next(r for r in result.rows if len(r.result.missed) >= 2)
        enterprise = db.session.get(Enterprise, row.enterprise_id)
        assert enterprise is not None
        for finding in row.result.missed[:1]:
            record_hazard(
                db.session, enterprise=enterprise, description=finding.description, level=HazardLevel.general,
                found_at=finding.found_at - timedelta(days=1), deadline=None, source=HazardSource.self_ledger,
                item_code=finding.item_code, place=finding.place, terms={"responsible_person": "王建平"},
            )  # fmt: skip
        record_hazard(
            db.session, enterprise=enterprise, description="消防通道堆放杂物", level=HazardLevel.general,
            found_at=window.starts, deadline=None, source=HazardSource.self_ledger, place="成品仓库",
            terms={"responsible_person": "王建平"},
        )  # fmt: skip
        db.session.commit()
        path = f"/enterprises/{row.enterprise_id}/reconciliation?phase={PHASE}"
        db.session.remove()
        db.engine.dispose()
    return path


def _check(page: Any, path: str, failures: list[str]) -> None:
    wide = webpages.overflow(page)
    found = webpages.run_axe(page, path)
    failures += [f"{path} ({page.viewport_size['width']}): {line}" for line in found.serious()]
    if wide > 0:
        failures.append(f"{path}: the page scrolls sideways by {wide}px at {page.viewport_size['width']}px")


def test_confirming_a_pair_on_an_accessible_page(live_server: LiveServer, open_context: Any) -> None:
    assert webpages.AXE.is_file(), "axe-core is missing: run `npm ci` in pwa/"
    phone, laptop = open_context(webpages.PHONE), open_context(webpages.LAPTOP)
    for page in (phone, laptop):
        webpages.sign_in(page, live_server.url, "xx_sup")
    path = _ledger_copies(live_server)
    failures: list[str] = []
    for page in (phone, laptop):
        page.goto(f"{live_server.url}{path}")
        _check(page, path, failures)
    assert laptop.locator("form[data-verdict=hand] select[name=entry]").count() >= 1, (
        "hand pairing is offered"
    )
    assert laptop.locator("#confirm-all button").count() == 1
    row = laptop.locator("tr[data-confirmed=no]").first
    finding = row.get_attribute("data-finding")
    row.locator("form[data-verdict=same] button").click()
    laptop.wait_for_load_state()
    confirmed = laptop.locator(f"tr[data-finding='{finding}'][data-confirmed=yes]")
    assert confirmed.count() == 1 and re.search("已确认", confirmed.inner_text())
    assert laptop.locator("[role=status]").count() == 1
    for page in (phone, laptop):
        page.goto(f"{live_server.url}{path}")
        _check(page, path, failures)
    assert failures == [], "\n".join(failures)
