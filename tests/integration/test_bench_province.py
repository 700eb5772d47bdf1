"""bench/province.py end to end at a tiny scale: the fill, a storm through gunicorn, the pages (figures are
printed; no timing is asserted)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from bench.province import parser, run


def test_the_province_bench_runs_at_a_tiny_scale(tmp_path: Path) -> None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        url = f"sqlite:///{tmp_path / 'province.db'}"
    args = parser().parse_args(
        ["--scale", "0.002", "--database-url", url, "--workers", "2", "--concurrency", "2", "--repeat", "1"]
    )

    figures = run(args)

    # The monthly report's page started recounts in the background: none may outlive the run (one cut off while
    # its database was dropped left an open connection for a later test to trip on).
    assert not [t.name for t in threading.enumerate() if t.name.startswith("job-")]

    assert figures["rows"]["enterprise"] == 20 and figures["rows"]["item_result"] == 80 * 25
    assert figures["inspections"] == 2 * 3 and figures["photos"] == 2 * 3 * 10
    assert figures["errors"] == [] and figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["photos_held"] == figures["photos"] and figures["pushes"] >= 2
    for username, results in figures["pages"].items():
        for page in results:
            assert page.status == 200 and page.scratch and page.repeated, (username, page.label, page.status)
