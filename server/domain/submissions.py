"""What enterprises must hand in during a campaign (方案, monthly progress, 总结) and whether they did on time.

The notice (四（四）) asks each enterprise for its plan by 5 May, its progress every month by the 23rd and its
summary by 15 November. A requirement is due once (``due_on``) or every month on ``due_day`` between two
months; each due date is one *period* an enterprise answers with one or more versions.

Timeliness is judged on the FIRST version handed in for a period, in the bureau's day: a version on or before
the due date makes the period on time, and a later correction does not undo that; a period with no version
is missing once its due date has passed (overdue), pending before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class SubmissionKind(StrEnum):
    """A document uploaded as a file (plan, summary) or the monthly progress figures filled in a form."""

    document = "document"
    progress = "progress"

    @property
    def label_zh(self) -> str:
        """Chinese name of the kind."""
        return "上传文件" if self is SubmissionKind.document else "填报进展表"


class Timeliness(StrEnum):
    """Where an enterprise stands on one period of one requirement."""

    on_time = "on_time"
    late = "late"
    missing = "missing"
    pending = "pending"

    @property
    def label_zh(self) -> str:
        """Chinese name shown in the matrix."""
        return _TIMELINESS_ZH[self]


_TIMELINESS_ZH = {
    Timeliness.on_time: "按时",
    Timeliness.late: "逾期提交",
    Timeliness.missing: "逾期未交",
    Timeliness.pending: "未到期",
}


@dataclass(frozen=True)
class Schedule:
    """When a requirement falls due: once on ``due_on``, or monthly on ``due_day`` from ``first_month`` to
    ``last_month`` (both the first of their month)."""

    due_on: date | None = None
    due_day: int | None = None
    first_month: date | None = None
    last_month: date | None = None


def schedule_problem(schedule: Schedule) -> tuple[str, str] | None:
    """Why a schedule cannot be used (in Chinese, in English: the catalogue's schedule_invalid shows one), or None."""
    once = schedule.due_on is not None
    monthly = any(v is not None for v in (schedule.due_day, schedule.first_month, schedule.last_month))
    if once == monthly:
        return (
            "须填写一个截止日期，或每月截止日及起止月份（二选一）",
            "give one due date or a monthly schedule",
        )
    if monthly:
        if schedule.due_day is None or schedule.first_month is None or schedule.last_month is None:
            return "每月截止日和起止月份都必须填写", "a monthly schedule needs its day and both months"
        if not 1 <= schedule.due_day <= 28:
            return "每月截止日须在 1–28 日之间", "the monthly day must be from 1 to 28"
        if schedule.first_month > schedule.last_month:
            return "起始月份晚于结束月份", "the first month is after the last"
    return None


def due_dates(schedule: Schedule) -> list[date]:
    """Every due date of a valid schedule, in order."""
    if schedule.due_on is not None:
        return [schedule.due_on]
    assert (
        schedule.due_day is not None and schedule.first_month is not None and schedule.last_month is not None
    )
    out: list[date] = []
    year, month = schedule.first_month.year, schedule.first_month.month
    while (year, month) <= (schedule.last_month.year, schedule.last_month.month):
        out.append(date(year, month, schedule.due_day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def timeliness(due_on: date, first_submitted_on: date | None, today: date) -> Timeliness:
    """The standing of one period: ``first_submitted_on`` is the bureau's day of the first version (None if
    none), ``today`` the bureau's day now."""
    if first_submitted_on is not None:
        return Timeliness.on_time if first_submitted_on <= due_on else Timeliness.late
    return Timeliness.missing if today > due_on else Timeliness.pending


def default_schedules(year: int) -> list[tuple[str, str, SubmissionKind, Schedule]]:
    """The notice's three submissions for a campaign of ``year``: (code, name, kind, schedule)."""
    return [
        ("plan", "企业行动方案及部署情况", SubmissionKind.document, Schedule(due_on=date(year, 5, 5))),
        (
            "monthly",
            "每月工作进展情况（附件表式）",
            SubmissionKind.progress,
            Schedule(due_day=23, first_month=date(year, 5, 1), last_month=date(year, 10, 1)),
        ),
        ("summary", "企业工作总结", SubmissionKind.document, Schedule(due_on=date(year, 11, 15))),
    ]
