"""Inspection kinds and the review life cycle of an inspection record."""

from __future__ import annotations

from enum import StrEnum


class InspectionKind(StrEnum):
    """Why an inspection was made; 'self' is the enterprise's own self-assessment."""

    self_check = "self"
    county = "county"
    unannounced = "unannounced"
    city_sampling = "city_sampling"
    look_back = "look_back"
    expert = "expert"

    @property
    def label_zh(self) -> str:
        """Chinese name of the kind."""
        return _KIND_ZH[self]


_KIND_ZH = {
    InspectionKind.self_check: "企业自查",
    InspectionKind.county: "县级全覆盖检查",
    InspectionKind.unannounced: "四不两直暗查暗访",
    InspectionKind.city_sampling: "市级双随机抽查",
    InspectionKind.look_back: "回头看",
    InspectionKind.expert: "专家指导服务",
}


class InspectionStatus(StrEnum):
    """draft → submitted → approved | returned (a returned record is corrected and submitted again)."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    returned = "returned"


class ReviewOutcome(StrEnum):
    """A supervisor's decision on a submitted inspection."""

    approve = "approve"
    return_ = "return"


_REVIEW_TRANSITIONS = {
    (InspectionStatus.submitted, ReviewOutcome.approve): InspectionStatus.approved,
    (InspectionStatus.submitted, ReviewOutcome.return_): InspectionStatus.returned,
}


def status_after_review(status: InspectionStatus, outcome: ReviewOutcome) -> InspectionStatus | None:
    """The status a review leads to, or None when the inspection cannot be reviewed in this status."""
    return _REVIEW_TRANSITIONS.get((status, outcome))


#: An inspection must be made by at least this many law-enforcement officers (行政执法不少于两人).
MIN_INSPECTORS = 2


def is_sealed(status: InspectionStatus) -> bool:
    """Whether an inspection in ``status`` is sealed: once submitted, neither it nor anything recorded in it (answers,
    hazards, photos, expert opinions) may change from a device; corrections are new records."""
    return status != InspectionStatus.draft
