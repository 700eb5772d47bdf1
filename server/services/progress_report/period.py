"""When a report is taken: its period (a month or the final summary), the cut-off and the local day bounds."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from server.errors import month_invalid, month_not_begun
from server.models import (
    Campaign,
)

Period = date | Literal["final"]

#: The day of the month the monthly report is due, and the final summary's day.
REPORT_DAY = 23
FINAL_MONTH, FINAL_DAY = 11, 15


# --- the cut-off --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoff:
    """When a report is taken: its day (the 23rd, or 15 November) and the instant everything must precede."""

    final: bool
    #: The first day of the report's month (None for the final summary).
    month: date | None
    day: date
    #: 00:00 of the day after ``day`` in the bureau's time zone, as UTC; records must be strictly before it.
    end: datetime

    @property
    def param(self) -> str:
        """The period as the pages' query string names it: ``2026-07`` or ``final``."""
        return "final" if self.month is None else f"{self.month:%Y-%m}"

    @property
    def label(self) -> str:
        """The period in Chinese, e.g. 2026年7月 or 2026年总结."""
        if self.month is None:
            return f"{self.day.year}年总结"
        return f"{self.month.year}年{self.month.month}月"


def local_end_of(day: date, zone: tzinfo) -> datetime:
    """00:00 of the day after ``day`` in ``zone``, as UTC: the end of that day in the bureau's time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


def local_start_of(day: date, zone: tzinfo) -> datetime:
    """00:00 of ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def campaign_year(campaign: Campaign | None, today: date) -> int:
    """The year whose 15 November closes the campaign: the year its last phase ends (else this year)."""
    if campaign is None or not campaign.phases:
        return today.year
    return max(p.ends_on for p in campaign.phases).year


def report_cutoff(period: Period, zone: tzinfo, year: int) -> Cutoff:
    """The cut-off of a monthly report (any day of its month) or, for "final", of the final summary of ``year``."""
    if period == "final":
        day = date(year, FINAL_MONTH, FINAL_DAY)
        return Cutoff(final=True, month=None, day=day, end=local_end_of(day, zone))
    month = period.replace(day=1)
    day = month.replace(day=min(REPORT_DAY, calendar.monthrange(month.year, month.month)[1]))
    return Cutoff(final=False, month=month, day=day, end=local_end_of(day, zone))


def parse_period(month: str | None, final: str | None, today: date) -> Period:
    """The period asked for by ``?month=YYYY-MM`` or ``?final=1`` (default: this month); month_invalid or month_not_begun if invalid."""
    if (final or "").strip() in ("1", "true", "on"):
        return "final"
    raw = (month or "").strip()
    if not raw:
        return today.replace(day=1)
    parts = raw.split("-")
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()) or len(parts[0]) != 4:
        raise month_invalid(value=raw)
    year, number = int(parts[0]), int(parts[1])
    if not 1 <= number <= 12 or not 2000 <= year <= 2100:
        raise month_invalid(value=raw)
    first = date(year, number, 1)
    if first > today:
        raise month_not_begun(year=year, month=number, value=raw)
    return first


def report_months(campaign: Campaign | None, today: date) -> list[date]:
    """The months a report can be asked for: from the campaign's first month (or a year back) to this month."""
    first = min((p.starts_on for p in campaign.phases), default=None) if campaign else None
    start = (first or today - timedelta(days=365)).replace(day=1)
    months: list[date] = []
    current = today.replace(day=1)
    while current >= start and len(months) < 36:
        months.append(current)
        current = (current - timedelta(days=1)).replace(day=1)
    return months
