"""The city's scoring of its counties (notice 四（四）: "打分排队并进行定期通报"): criteria are data (a metric and a
weight each); each metric is a share with its numerator and denominator, turned into 0–100 points (a share where
less is better, such as the overdue share, counts as 100 − share).

Scoring rules (decided here; the notice names no formula):
- A county's score is the weighted mean of its criteria's points, over the criteria that have a denominator.
  A criterion with nothing to measure (no enterprises in scope, no hazards found, no submission due yet) is shown
  as 无数据 and left out of that county's mean (the other weights carry it), never counted as 0 or as 100: an
  auditor can see which figures a score rests on.
- Counties are ranked by score, highest first; equal scores share a rank (1, 1, 3); a county with no criterion
  measurable gets no score and is listed last.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Metric(StrEnum):
    """What a criterion measures."""

    coverage = "coverage"
    clearance = "clearance"
    overdue_share = "overdue_share"
    reliability = "reliability"
    timeliness = "timeliness"

    @property
    def label_zh(self) -> str:
        """Chinese name of the metric."""
        return _LABELS_ZH[self]

    @property
    def lower_is_better(self) -> bool:
        """Whether a smaller share earns more points."""
        return self is Metric.overdue_share


_LABELS_ZH = {
    Metric.coverage: "检查覆盖率",
    Metric.clearance: "重点事项清零率",
    Metric.overdue_share: "隐患逾期未整改占比",
    Metric.reliability: "企业自查可靠率",
    Metric.timeliness: "企业按时报送率",
}

#: The defaults a campaign starts with: (code, metric, weight).
DEFAULT_CRITERIA: list[tuple[str, Metric, int]] = [
    ("coverage", Metric.coverage, 30),
    ("clearance", Metric.clearance, 30),
    ("overdue", Metric.overdue_share, 15),
    ("reliability", Metric.reliability, 15),
    ("timeliness", Metric.timeliness, 10),
]


@dataclass(frozen=True)
class Measure:
    """A share as counted: ``numerator`` of ``denominator``."""

    numerator: int
    denominator: int

    @property
    def share(self) -> float | None:
        """The share in percent, or None with nothing to measure."""
        return 100.0 * self.numerator / self.denominator if self.denominator else None


def points(metric: Metric, measure: Measure) -> float | None:
    """0–100 points for a measure (None when it has no denominator)."""
    share = measure.share
    if share is None:
        return None
    return 100.0 - share if metric.lower_is_better else share


def weighted_score(parts: list[tuple[int, float | None]]) -> float | None:
    """The weighted mean of (weight, points) over the parts with points; None when none has any."""
    counted = [(w, p) for w, p in parts if p is not None and w > 0]
    total = sum(w for w, _ in counted)
    return sum(w * p for w, p in counted) / total if total else None


def ranks(scores: list[float | None]) -> list[int | None]:
    """Competition ranks (1, 1, 3) of scores rounded to two decimals, highest first; None for no score."""
    rounded = [round(s, 2) if s is not None else None for s in scores]
    return [None if s is None else 1 + sum(1 for o in rounded if o is not None and o > s) for s in rounded]
