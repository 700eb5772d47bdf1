"""The English names of the domain's enumerations: every member a page names has one, and the ``label`` filter
picks the reader's language."""

from __future__ import annotations

from enum import Enum

from flask import Flask, g

from server.domain.clearance import ItemResultValue
from server.domain.counting import ClearanceStatus
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome
from server.domain.reconciliation import ItemVerdict
from server.domain.roles import Role
from server.domain.scoring import Metric
from server.domain.stop_orders import OrderAction, OrderState
from server.domain.submissions import SubmissionKind, Timeliness
from server.web.labels import ENGLISH, label

NAMED: list[type[Enum]] = [
    HazardLevel, HazardState, HazardEventKind, InspectionKind, InspectionStatus, ReviewOutcome, ItemResultValue,
    ClearanceStatus, Metric, OrderState, OrderAction, SubmissionKind, Timeliness, ItemVerdict, Role,
]  # fmt: skip


def test_every_member_a_page_names_has_an_english_name_and_no_name_is_left_over() -> None:
    members = {(enum.__name__, member.name) for enum in NAMED for member in enum}
    assert members - ENGLISH.keys() == set()
    assert ENGLISH.keys() - members == set()


def test_label_picks_the_readers_language() -> None:
    app = Flask(__name__)
    with app.test_request_context("/"):
        g.language = "en"
        assert label(InspectionKind.self_check) == "Enterprise self-inspection"
        assert label(HazardLevel.major) == "Major hazard"
    with app.test_request_context("/"):
        g.language = "zh"
        assert label(InspectionKind.self_check) == "企业自查"
        assert label(None) == "—"
