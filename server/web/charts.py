"""Bar charts drawn on the server as SVG: the geometry here, the markup in templates/_charts.html.

Why SVG from the server rather than a chart library: the dashboard is a server page that must work offline,
print and read out to a screen reader; an SVG with <title>/<desc> beside the table of its figures does all of
that with no script, no dependency to keep up to date, and its numbers are testable in the HTML itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.domain.sectors import Sector
from server.i18n import tr
from server.services import trends

#: The drawing's coordinate system (it scales to the width of its box).
WIDTH, HEIGHT = 640.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 40.0, 8.0, 10.0, 34.0


@dataclass(frozen=True)
class Bar:
    """One bar: its box, the figure it shows (``value``, also in the table), its series and its tooltip."""

    x: float
    y: float
    width: float
    height: float
    value: float
    series: int
    title: str


@dataclass(frozen=True)
class Tick:
    """A horizontal grid line and its label."""

    y: float
    label: str


@dataclass(frozen=True)
class Label:
    """A label under a group of bars (centred on ``x``)."""

    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    """A drawn chart: bars, grid lines and group labels within WIDTH × HEIGHT."""

    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    baseline: float = HEIGHT - BOTTOM


#: A group: its label and its bars as (value, height value, tooltip); the height value is what is drawn (a
#: percentage, say), the value what the table shows.
Group = tuple[str, list[tuple[float, float, str]]]


def nice_top(largest: float) -> float:
    """A round upper end for the axis at or above ``largest`` (1, 2, 2.5 or 5 times a power of ten)."""
    if largest <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(largest))
    return next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= largest)


def bar_chart(groups: list[Group], top: float | None = None, unit: str = "") -> BarChart:
    """Lay out ``groups`` side by side, each group's bars next to each other, on an axis from 0 to ``top``
    (a round number above the largest when not given); at most ~16 group labels are written."""
    top = top if top is not None else nice_top(max((h for _, bars in groups for _, h, _ in bars), default=0))
    # Grid lines at whole steps (counts are whole: no line at 1.25).
    ticks = next(n for n in (4, 5, 2, 1) if float(top / n).is_integer())
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(groups))
    bars: list[Bar] = []
    labels: list[Label] = []
    every = max(1, math.ceil(len(groups) / 16))
    for index, (label, members) in enumerate(groups):
        inner = slot * 0.8
        width = inner / max(1, len(members))
        x0 = LEFT + index * slot + slot * 0.1
        for series, (value, drawn, title) in enumerate(members):
            height = plot_h * min(drawn, top) / top if top else 0.0
            bars.append(
                Bar(round(x0 + series * width, 2), round(TOP + plot_h - height, 2), round(width * 0.92, 2),
                    round(height, 2), value, series, title)
            )  # fmt: skip
        if index % every == 0:
            labels.append(Label(round(LEFT + index * slot + slot / 2, 2), label))
    grid = [
        Tick(round(TOP + plot_h - plot_h * step / ticks, 2), f"{_number(top * step / ticks)}{unit}")
        for step in range(ticks + 1)
    ]
    return BarChart(bars, grid, labels)


def _number(value: float) -> str:
    """A tick's figure without a needless decimal point."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


@dataclass(frozen=True)
class DashboardCharts:
    """The dashboard's three charts, drawn from server.services.trends."""

    coverage: BarChart
    hazards: BarChart
    clearance: BarChart
    #: The phases in the 清零 chart's order (its series), for its key.
    phases: list[str]


def dashboard_charts(figures: trends.Trends) -> DashboardCharts:
    """Draw the coverage, hazard and 清零 trends (titles in the reader's language)."""
    coverage: list[Group] = [
        (
            f"{c.week.label}",
            [(c.inspected, c.percent,
              tr("{phase} {start}–{end}：已检查 {n} / {total} 家（{pct}%）",
                 "{phase} {start}–{end}: {n} of {total} inspected ({pct}%)", phase=c.phase_name,
                 start=c.week.starts_on.isoformat(), end=c.week.ends_on.isoformat(), n=c.inspected,
                 total=c.in_scope, pct=f"{c.percent:.1f}"))],
        )
        for c in figures.coverage
    ]  # fmt: skip
    hazards: list[Group] = [
        (
            h.week.label,
            [(h.found, h.found, tr("{start} 起一周发现 {n} 条", "week of {start}: {n} found", start=h.week.starts_on.isoformat(), n=h.found)),
             (h.rectified, h.rectified, tr("{start} 起一周整改完成 {n} 条", "week of {start}: {n} rectified", start=h.week.starts_on.isoformat(), n=h.rectified))],
        )
        for h in figures.hazards
    ]  # fmt: skip
    sectors = [s for s, _, _ in figures.clearance[-1].rows] if figures.clearance else []
    clearance: list[Group] = []
    for sector in sectors:
        members: list[tuple[float, float, str]] = []
        for phase in figures.clearance:
            enterprises = next((n for s, n, _ in phase.rows if s == sector), 0)
            cleared = phase.cleared(sector)
            name = sector_name(sector)
            members.append((cleared, 100.0 * cleared / enterprises if enterprises else 0.0,
                            tr("{phase}（截至 {day}）{sector}：已清零 {n} / {total} 家",
                               "{phase} (as of {day}) {sector}: {n} of {total} cleared", phase=phase.phase_name,
                               day=phase.as_of.isoformat(), sector=name, n=cleared, total=enterprises)))  # fmt: skip
        clearance.append((sector_name(sector), members))
    return DashboardCharts(
        coverage=bar_chart(coverage, top=100.0, unit="%"),
        hazards=bar_chart(hazards),
        clearance=bar_chart(clearance, top=100.0, unit="%"),
        phases=[p.phase_name for p in figures.clearance],
    )


def sector_name(sector: Sector | None) -> str:
    """A sector's name in the reader's language (None: all enterprises)."""
    if sector is None:
        return tr("全部企业", "All enterprises")
    return tr(sector.label_zh, sector.label_en)
