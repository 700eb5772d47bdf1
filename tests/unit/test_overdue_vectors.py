"""The server's overdue rule against the vectors the PWA's isOverdue is tested with (tests/vectors/overdue.json)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.domain.hazards import HazardState, is_overdue

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "overdue.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: f"{c['state']}-{c['deadline']}")
def test_overdue_vectors(case: dict[str, object]) -> None:
    deadline = date.fromisoformat(str(case["deadline"])) if case["deadline"] else None
    today = date.fromisoformat(str(case["today"]))
    assert is_overdue(HazardState(str(case["state"])), deadline, today) is case["overdue"]


@pytest.mark.parametrize("case", VECTORS["today_cases"], ids=lambda c: f"{c['zone']}-{c['now']}")
def test_today_vectors(case: dict[str, str]) -> None:
    now = datetime.fromisoformat(case["now"].replace("Z", "+00:00"))
    assert now.astimezone(ZoneInfo(case["zone"])).date().isoformat() == case["today"]
