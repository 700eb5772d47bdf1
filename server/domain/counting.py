"""What counts: which inspections the bureau's figures (coverage, 清零, reports, exports) may rest on, and why not.

Decided once here and used by the dashboard, the enterprise pages, the reports and the exports:

- Only a regulator's inspection counts (an enterprise's self-assessment never does), and only once it is
  finished and submitted; a draft or a returned record counts for nothing.
- Its evidence must hold: the device's seal verified (hash, signature, and the sealed answers equal those
  received) and the answers the server holds now equal those the device sealed. An inspection whose seal
  failed, that carries no seal, or whose answers differ from the sealed record never counts, however it was
  reviewed; every page that shows it says why (``Standing.reason_zh``).
- Coverage counts submitted and approved inspections whose evidence holds.
- 清零 counts only an inspection a supervisor approved. One still waiting for review is shown apart, as
  待审核, and never as 已清零: a supervisor's approval is what makes a finding official.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SELF_KIND = "self"
"""An enterprise's self-assessment never clears an item: only a regulator's inspection does."""

COVERAGE_STATUSES: frozenset[str] = frozenset({"submitted", "approved"})
"""Statuses whose inspections count towards coverage (when their evidence holds)."""

CLEARANCE_STATUSES: frozenset[str] = frozenset({"approved"})
"""Statuses whose inspections count towards 清零 (when their evidence holds)."""

PENDING_STATUS = "submitted"
"""A submitted inspection waits for a supervisor's review: its 清零 is shown apart as 待审核."""


class Standing(StrEnum):
    """How an inspection stands for the figures."""

    #: Approved, evidence holds: counts for coverage and 清零.
    approved = "approved"
    #: Submitted, evidence holds, not yet reviewed: counts for coverage; its 清零 is shown as 待审核.
    pending = "pending"
    #: Submitted or approved but its evidence fails: never counts.
    excluded = "excluded"
    #: A draft, a returned record, an unfinished one or a self-assessment: nothing to count.
    not_counted = "not_counted"

    @property
    def counts_for_coverage(self) -> bool:
        """Whether the inspection covers its enterprise."""
        return self in (Standing.approved, Standing.pending)

    @property
    def counts_for_clearance(self) -> bool:
        """Whether the inspection's answers decide 清零."""
        return self is Standing.approved


@dataclass(frozen=True)
class InspectionStanding:
    """An inspection's standing and, when it does not count, why (Chinese first, then English)."""

    standing: Standing
    reason_zh: str | None = None
    reason_en: str | None = None


@dataclass(frozen=True)
class CountingFacts:
    """What deciding an inspection's standing needs."""

    kind: str
    status: str
    finished: bool
    has_seal: bool
    seal_verified: bool | None
    seal_problem: str | None
    #: The answers held now differ from those the device sealed (None: not compared).
    answers_differ: bool | None = None


def standing(facts: CountingFacts) -> InspectionStanding:
    """Decide whether an inspection counts for coverage and 清零, and if not, why."""
    if facts.kind == SELF_KIND or facts.status not in COVERAGE_STATUSES or not facts.finished:
        return InspectionStanding(Standing.not_counted)
    if not facts.has_seal:
        return InspectionStanding(
            Standing.excluded,
            "已提交的记录没有设备签名封存，不计入覆盖和清零",
            "The submitted record carries no device seal: it counts for neither coverage nor 清零",
        )
    if facts.seal_verified is not True:
        problem = (facts.seal_problem or "").partition(" / ")[0]
        return InspectionStanding(
            Standing.excluded,
            "设备签名封存验证未通过" + (f"（{problem}）" if problem else "") + "，不计入覆盖和清零",
            "The device seal does not verify: it counts for neither coverage nor 清零",
        )
    if facts.answers_differ:
        return InspectionStanding(
            Standing.excluded,
            "服务器上的检查结果与设备封存记录不一致，不计入覆盖和清零",
            "The answers held differ from the device-sealed record: it counts for neither coverage nor 清零",
        )
    if facts.status == PENDING_STATUS:
        return InspectionStanding(
            Standing.pending,
            "待审核：审核通过前不计入清零",
            "Awaiting review: counts towards 清零 once approved",
        )
    return InspectionStanding(Standing.approved)


def sealed_answers(record: Any) -> dict[str, str] | None:
    """The answers (item code → result) of a sealed record parsed from JSON, or None when it cannot be read."""
    if not isinstance(record, dict):
        return None
    try:
        return {str(code): str(result) for code, result, *_ in record.get("results", [])}
    except (TypeError, ValueError):
        return None


def answers_differ(sealed: Mapping[str, str] | None, stored: Mapping[str, str]) -> bool:
    """Whether the answers held (item code → result) differ from the sealed ones (an unreadable seal differs)."""
    return sealed is None or dict(sealed) != dict(stored)


class ClearanceStatus(StrEnum):
    """An enterprise's (or item's) 清零 as pages show it."""

    cleared = "cleared"
    #: Would be cleared by an inspection still awaiting review: shown apart, never as 已清零.
    pending_review = "pending_review"
    not_cleared = "not_cleared"
    not_inspected = "not_inspected"

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return _CLEARANCE_ZH[self]


_CLEARANCE_ZH = {
    ClearanceStatus.cleared: "已清零",
    ClearanceStatus.pending_review: "待审核",
    ClearanceStatus.not_cleared: "未清零",
    ClearanceStatus.not_inspected: "尚未检查",
}


def clearance_status(*, official: bool, pending: bool, inspected: bool) -> ClearanceStatus:
    """已清零 only on an approved inspection; 待审核 when only a pending one would clear; else 未清零/尚未检查."""
    if official:
        return ClearanceStatus.cleared
    if pending:
        return ClearanceStatus.pending_review
    return ClearanceStatus.not_cleared if inspected else ClearanceStatus.not_inspected
