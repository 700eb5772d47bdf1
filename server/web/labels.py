"""English names of the domain's enumerations, for pages read in English (the domain keeps the Chinese ones,
which also go into the documents and exports), and the ``label`` filter that picks one by the reader's language."""

from __future__ import annotations

from enum import Enum
from typing import Any

from server.i18n import current_language, tr

#: (enumeration class name, member name) → English name.
ENGLISH: dict[tuple[str, str], str] = {
    ("HazardLevel", "general"): "General hazard",
    ("HazardLevel", "major"): "Major hazard",
    ("HazardState", "found"): "To rectify",
    ("HazardState", "planned"): "Being rectified",
    ("HazardState", "reported"): "Reported, awaiting acceptance",
    ("HazardState", "rejected"): "Acceptance failed",
    ("HazardState", "accepted"): "Accepted",
    ("HazardState", "closed"): "Closed",
    ("HazardState", "withdrawn"): "Withdrawn (false report)",
    ("HazardEventKind", "found"): "Hazard found",
    ("HazardEventKind", "rectification_planned"): "Rectification planned",
    ("HazardEventKind", "rectification_reported"): "Rectification reported",
    ("HazardEventKind", "accepted"): "Accepted",
    ("HazardEventKind", "rejected"): "Not accepted",
    ("HazardEventKind", "deadline_extended"): "Deadline extended",
    ("HazardEventKind", "closed"): "Closed",
    ("HazardEventKind", "listed"): "Listed for supervision",
    ("HazardEventKind", "delisted"): "Delisted",
    ("HazardEventKind", "withdrawn"): "Withdrawn (finding changed)",
    ("InspectionKind", "self_check"): "Enterprise self-inspection",
    ("InspectionKind", "county"): "County full-coverage inspection",
    ("InspectionKind", "unannounced"): "Unannounced inspection",
    ("InspectionKind", "city_sampling"): "City random sampling",
    ("InspectionKind", "look_back"): "Look-back",
    ("InspectionKind", "expert"): "Expert guidance",
    ("InspectionStatus", "draft"): "In progress (draft)",
    ("InspectionStatus", "submitted"): "Awaiting review",
    ("InspectionStatus", "approved"): "Approved",
    ("InspectionStatus", "returned"): "Returned",
    ("ReviewOutcome", "approve"): "approved",
    ("ReviewOutcome", "return_"): "returned",
    ("ItemResultValue", "compliant"): "Compliant",
    ("ItemResultValue", "non_compliant"): "Non-compliant",
    ("ItemResultValue", "not_applicable"): "Not applicable",
    ("ItemResultValue", "not_checked"): "Not checked",
    ("ClearanceStatus", "cleared"): "Cleared",
    ("ClearanceStatus", "pending_review"): "Pending review",
    ("ClearanceStatus", "not_cleared"): "Not cleared",
    ("ClearanceStatus", "not_inspected"): "Not yet inspected",
    ("Metric", "coverage"): "Inspection coverage",
    ("Metric", "clearance"): "Key-item clearance rate",
    ("Metric", "overdue_share"): "Share of hazards overdue",
    ("Metric", "reliability"): "Self-inspection reliability",
    ("Metric", "timeliness"): "On-time submission rate",
    ("OrderState", "draft"): "Draft",
    ("OrderState", "in_review"): "In legal review",
    ("OrderState", "returned"): "Returned by review",
    ("OrderState", "approved"): "Approved, to be issued",
    ("OrderState", "issued"): "Issued (production stopped)",
    ("OrderState", "resumed"): "Resumption accepted",
    ("OrderState", "withdrawn"): "Withdrawn",
    ("OrderAction", "submit"): "Submit for legal review",
    ("OrderAction", "approve"): "Approve",
    ("OrderAction", "return_"): "Return for changes",
    ("OrderAction", "issue"): "Issue",
    ("OrderAction", "resume"): "Accept resumption",
    ("OrderAction", "withdraw"): "Withdraw",
    ("SubmissionKind", "document"): "Upload a file",
    ("SubmissionKind", "progress"): "Fill in the progress form",
    ("Timeliness", "on_time"): "On time",
    ("Timeliness", "late"): "Submitted late",
    ("Timeliness", "missing"): "Overdue, not submitted",
    ("Timeliness", "pending"): "Not yet due",
    ("ItemVerdict", "agree"): "Agree",
    ("ItemVerdict", "overstated"): "Self-assessment overstated",
    ("ItemVerdict", "differ"): "Differ",
    ("ItemVerdict", "incomplete"): "Cannot compare",
    ("Role", "inspector"): "Inspector",
    ("Role", "supervisor"): "County supervisor",
    ("Role", "city_supervisor"): "City supervisor",
    ("Role", "enterprise"): "Enterprise user",
    ("Role", "expert"): "Expert",
    ("Role", "legal_reviewer"): "Legal reviewer",
    ("Role", "admin"): "Administrator",
}


def english(value: Any) -> str | None:
    """The English name of an enumeration member, if one is known."""
    if isinstance(value, Enum):
        known = ENGLISH.get((type(value).__name__, value.name))
        if known:
            return known
    known = getattr(value, "label_en", None)
    return str(known) if known else None


def label(value: Any) -> str:
    """The name of an enumeration member in the reader's language (its Chinese name when no English is known)."""
    if value is None:
        return "—"
    if current_language() == "en":
        known = english(value)
        if known:
            return known
    return str(getattr(value, "label_zh", value))


#: English names of the 五定 terms a catalogue may name (the catalogue holds only their Chinese labels).
FIVE_TERMS_EN = {
    "responsible_person": "Responsible person",
    "measures": "Measures",
    "deadline": "Deadline",
    "completed_by": "Completed by",
    "accepted_by": "Accepted by",
    "funds": "Funds",
    "contingency_plan": "Contingency plan",
}


def five_terms(terms: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A catalogue's 五定 (key, Chinese label) in the reader's language (a term without English keeps its label)."""
    return [(key, tr(zh, FIVE_TERMS_EN.get(key, zh))) for key, zh in terms]


def pairs(labels: dict[Any, tuple[str, str]]) -> dict[Any, str]:
    """A {key: (Chinese, English)} table as {key: the reader's text}."""
    return {key: tr(zh, en) for key, (zh, en) in labels.items()}


def members(names_zh: dict[Any, str]) -> dict[Any, str]:
    """{member: Chinese name} (a service's table) as {member: its name in the reader's language}."""
    return {value: tr(zh, english(value) or zh) for value, zh in names_zh.items()}


def register_filters(app: Any) -> None:
    """``{{ member|label }}`` and ``five_terms(...)`` in templates."""
    app.add_template_filter(label, "label")
    app.jinja_env.globals["five_terms"] = five_terms
