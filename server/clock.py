"""The bureau's clock: its time zone (the app's TIMEZONE), today, the bounds of its days and a report's cut-off.

Deadlines, overdue, campaign phases and report cut-offs are all counted in the bureau's days, never in UTC's:
every module that needs "today" or where a day starts asks here, and none defines a zone of its own.
Functions that take a ``zone`` are pure; ``zone()`` and ``today()`` read the running app's configuration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app

#: The bureau's zone when TIMEZONE is not set: China keeps one zone, UTC+8, with no daylight saving.
DEFAULT_TIMEZONE = "Asia/Shanghai"


def zone_named(name: str | None) -> ZoneInfo:
    """The zone a TIMEZONE setting names (the default when it is empty)."""
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def zone() -> ZoneInfo:
    """The bureau's time zone, from the running app's TIMEZONE setting."""
    return zone_named(current_app.config.get("TIMEZONE"))


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def today(tz: tzinfo | None = None) -> date:
    """Today's date in the bureau's zone (``tz``, else the app's): a UTC date turns over at 08:00 in China."""
    return now().astimezone(tz or zone()).date()


def day_start(day: date, tz: tzinfo) -> datetime:
    """00:00 of ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def day_end(day: date, tz: tzinfo) -> datetime:
    """00:00 of the day after ``day`` in ``tz``, as UTC: anything strictly before it happened by that day."""
    return day_start(day + timedelta(days=1), tz)


def local_day(moment: datetime, tz: tzinfo) -> date:
    """The bureau's day an aware instant falls on."""
    return moment.astimezone(tz).date()


def local_text(moment: datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware instant written in the bureau's time (empty for None)."""
    return moment.astimezone(tz).strftime(fmt) if moment is not None else ""


def as_of_day(cutoff_day: date, today_: date) -> date:
    """The day a report "as of" its cut-off is counted on: the cut-off day, or today while it is provisional.

    "Overdue as of D" means a deadline before D; a provisional report made before its cut-off day cannot know
    that deadlines still to come will pass, so it counts as of today, as the dashboard does.
    """
    return min(cutoff_day, today_)
