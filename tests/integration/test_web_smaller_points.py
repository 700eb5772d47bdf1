"""Issue 19's smaller points: the reconciliation page opens on a phase with records, the enterprise page links its
ledger export, and the report page offers no raw JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import clock
from server.extensions import db
from server.models import Enterprise, Hazard, Inspection, User
from server.services import oversight
from tests.conftest import login


def _phases(app: Flask) -> list[tuple[str, str, object, object]]:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None
        campaign = oversight.campaign_for(db.session, user)
        assert campaign is not None
        return [(p.code, p.name, p.starts_on, p.ends_on) for p in campaign.phases]


def _opened_phase(client: FlaskClient) -> str:
    html = client.get("/reconciliation").get_data(as_text=True)
    match = re.search(r'<option value="([^"]+)" selected>', html)
    assert match is not None
    return match.group(1)


def test_reconciliation_opens_on_the_last_phase_with_records(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    phases = _phases(app)
    code, _name, starts_on, ends_on = phases[-1]  # 回头看, the last phase
    assert code == "look_back"
    # A day inside 回头看.
    monkeypatch.setattr(clock, "now", lambda: datetime.combine(starts_on, time(12), tzinfo=UTC))  # type: ignore[arg-type]
    login(client, "xx_sup")
    with app.app_context():
        zone = clock.zone()
        start = clock.day_start(starts_on, zone)  # type: ignore[arg-type]
        end = clock.day_end(ends_on, zone)  # type: ignore[arg-type]
        # Nothing happened in 回头看 yet: its records (if the demo has any) are taken away.
        gone = datetime(2000, 1, 1, tzinfo=UTC)
        for model, column in ((Hazard, Hazard.found_at), (Inspection, Inspection.finished_at)):
            db.session.execute(sa.update(model).where(column >= start, column < end).values(deleted_at=gone))
        db.session.commit()
    opened = _opened_phase(client)
    assert opened != "look_back"
    # The latest phase before it that holds records.
    page = client.get(f"/reconciliation?phase={opened}").get_data(as_text=True)
    assert "本阶段没有可核对的记录" not in page
    later = [p[0] for p in phases[[p[0] for p in phases].index(opened) + 1 : -1]]
    for skipped in later:
        assert "本阶段没有可核对的记录" in client.get(f"/reconciliation?phase={skipped}").get_data(
            as_text=True
        )
    # Once 回头看 has a record, the page opens on it.
    with app.app_context():
        hazard = db.session.scalar(
            sa.select(Hazard).where(Hazard.found_at >= start, Hazard.found_at < end).limit(1)
        )
        if hazard is None:
            hazard = db.session.scalar(sa.select(Hazard).where(Hazard.deleted_at.is_(None)).limit(1))
            assert hazard is not None
            hazard.found_at = datetime.combine(starts_on, time(3), tzinfo=UTC)  # type: ignore[arg-type]
        hazard.deleted_at = None
        db.session.commit()
    assert _opened_phase(client) == "look_back"


def test_the_enterprise_page_links_its_ledger_export(app: Flask, client: FlaskClient) -> None:
    login(client, "xx_sup")
    with app.app_context():
        enterprise_id = db.session.scalar(
            sa.select(Enterprise.id).where(Enterprise.name == "兴县晋兴特钢有限公司")
        )
    html = client.get(f"/enterprises/{enterprise_id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" data-link="ledger-export"', html)
    assert link is not None and link.group(1) == f"/enterprises/{enterprise_id}/ledger.xlsx"
    export = client.get(link.group(1))
    assert export.status_code == 200
    assert export.data[:2] == b"PK"  # an .xlsx is a zip


def test_the_report_page_has_no_raw_json_link(client: FlaskClient) -> None:
    login(client, "xx_sup")
    html = client.get("/reports/monthly").get_data(as_text=True)
    assert "/reports/monthly.xlsx" in html
    assert "/api/reports/monthly" not in html and ">JSON<" not in html
