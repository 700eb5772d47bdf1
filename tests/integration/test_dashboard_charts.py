"""The dashboard's trend charts: each bar is a figure of the table beside it, and the weeks add up to the
dashboard's own tables (coverage per phase, hazards by state, 清零 by sector)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.domain.hazards import HazardLevel
from server.extensions import db
from server.models import Enterprise, HazardSource, User
from server.services import oversight
from server.services.hazards import record_hazard
from server.web.charts import bar_chart, nice_top
from tests.conftest import login


def _dashboard(client: FlaskClient, username: str = "xx_sup") -> str:
    login(client, username)
    response = client.get("/dashboard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _svg(html: str, name: str) -> str:
    match = re.search(rf'<svg[^>]*data-chart="{name}".*?</svg>', html, re.S)
    assert match is not None, name
    return match.group(0)


def _table(html: str, name: str) -> str:
    match = re.search(rf'<table[^>]*data-chart-table="{name}".*?</table>', html, re.S)
    assert match is not None, name
    return match.group(0)


def _bars(svg: str) -> list[int]:
    return [int(float(v)) for v in re.findall(r'<rect class="bar[^"]*"[^>]*data-value="([\d.]+)"', svg)]


def _cells(table: str) -> list[int]:
    return [int(v) for v in re.findall(r'<td data-value="(\d+)"', table)]


def _figure(html: str, name: str) -> int:
    match = re.search(rf'data-figure="{re.escape(name)}">(?:<strong>)?(\d+)<', html)
    assert match is not None, name
    return int(match.group(1))


@pytest.mark.parametrize("username", ["xx_sup", "ll_city", "admin"])
def test_every_bar_is_a_figure_of_its_table(client: FlaskClient, username: str) -> None:
    html = _dashboard(client, username)
    for name in ("coverage-chart", "hazards-chart", "clearance-chart"):
        svg = _svg(html, name)
        # Readable without sight: the drawing is named and described, and each bar says what it shows.
        assert re.search(rf'aria-labelledby="{name}-title {name}-desc"', svg)
        assert f'<title id="{name}-title">' in svg and f'<desc id="{name}-desc">' in svg
        bars = _bars(svg)
        assert bars, name
        assert bars == _cells(_table(html, name)), name
        assert svg.count("<title>") == len(bars)


def test_coverage_weeks_end_on_the_coverage_table(client: FlaskClient) -> None:
    html = _dashboard(client)
    table = _table(html, "coverage-chart")
    last: dict[str, int] = {}
    for value, phase in re.findall(r'<td data-value="(\d+)" data-phase="([^"]+)">', table):
        last[phase] = int(value)
    assert last
    for code, inspected in last.items():
        assert inspected == _figure(html, f"coverage-{code}"), code
    # Cumulative within a phase: a week never shows fewer than the week before.
    for code in last:
        series = [
            int(v) for v, c in re.findall(r'<td data-value="(\d+)" data-phase="([^"]+)">', table) if c == code
        ]
        assert series == sorted(series)


def test_hazard_weeks_add_up_to_the_hazard_table(client: FlaskClient) -> None:
    html = _dashboard(client)
    table = _table(html, "hazards-chart")
    found = int(re.search(r'data-total="found">(\d+)<', table).group(1))  # type: ignore[union-attr]
    rectified = int(re.search(r'data-total="rectified">(\d+)<', table).group(1))  # type: ignore[union-attr]
    states = re.findall(r'data-figure="hazards-(\w+)-(\w+)">(\d+)<', html)
    assert found == sum(int(n) for _, _, n in states)
    assert found > 0
    assert rectified == sum(int(n) for _, state, n in states if state in ("accepted", "closed"))
    assert rectified > 0
    weeks = _cells(table)
    assert sum(weeks[0::2]) == found and sum(weeks[1::2]) == rectified


def test_clearance_of_the_running_phase_is_the_clearance_table(client: FlaskClient) -> None:
    html = _dashboard(client)
    table = _table(html, "clearance-chart")
    cells = re.findall(r'<td data-value="(\d+)" data-sector="(\w+)" data-phase="([^"]+)">', table)
    assert cells
    running = cells[-1][2]
    by_sector = {sector: int(value) for value, sector, phase in cells if phase == running}
    assert by_sector["all"] > 0
    for sector, cleared in by_sector.items():
        assert cleared == _figure(html, f"cleared-{sector}"), sector
    # Cumulative: an enterprise cleared by a phase's end stays counted in the phases after it.
    phases = list(dict.fromkeys(phase for _, _, phase in cells))
    for sector in by_sector:
        series = [int(v) for phase in phases for v, s, p in cells if s == sector and p == phase]
        assert series == sorted(series), sector


def test_bar_heights_follow_their_figures() -> None:
    chart = bar_chart([("a", [(5, 5, "five")]), ("b", [(10, 10, "ten")]), ("c", [(0, 0, "none")])])
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == pytest.approx(heights[1] / 2)
    assert heights[2] == 0
    assert [b.title for b in chart.bars] == ["five", "ten", "none"]
    assert nice_top(7) == 10 and nice_top(130) == 200 and nice_top(0) == 1


def test_grid_lines_fall_on_whole_counts() -> None:
    for largest in (1, 2, 3, 5, 7, 13, 24, 60, 130):
        chart = bar_chart([("a", [(largest, largest, "")])])
        labels = [float(t.label) for t in chart.ticks]
        assert all(v.is_integer() for v in labels), (largest, labels)
        assert labels[-1] >= largest


def test_the_charts_follow_a_new_hazard_at_once(app: Flask, client: FlaskClient) -> None:
    """The weeks are cached between views; a hazard written meanwhile shows in the next view's chart."""
    before = _dashboard(client)
    found = int(re.search(r'data-total="found">(\d+)<', _table(before, "hazards-chart")).group(1))  # type: ignore[union-attr]
    with app.app_context():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "兴县晋兴特钢有限公司"))
        assert enterprise is not None
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        campaign = oversight.campaign_for(db.session, user)  # type: ignore[arg-type]
        assert campaign is not None
        day = max(p.ends_on for p in campaign.phases) - timedelta(days=3)
        record_hazard(
            db.session, enterprise=enterprise, description="新发现：除尘器泄爆口朝向人员密集区域",
            level=HazardLevel.general, found_at=datetime.combine(day, time(4), tzinfo=UTC), deadline=None,
            source=HazardSource.inspection,
        )  # fmt: skip
        db.session.commit()
    after = client.get("/dashboard").get_data(as_text=True)
    table = _table(after, "hazards-chart")
    assert int(re.search(r'data-total="found">(\d+)<', table).group(1)) == found + 1  # type: ignore[union-attr]
    assert _bars(_svg(after, "hazards-chart")) == _cells(table)
