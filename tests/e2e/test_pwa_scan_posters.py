"""Hard poster photos (tests/data/posters.py: glare, blur, steep angles, dim light, small codes, a screen's
moiré, noise, heavy JPEG) decoded by the app's own worker in Chromium: never a wrong payload, and the
app's multi-pass reading clearly beats one decoder pass.

The passes are counted with every variant tried, so that the same photos are read on any machine: how many
variants a frame's time budget allows is the device's speed, which bench/pwa.py prints (and a slow device still
meets every variant within a few frames: test_pwa_scan.py). Counting them within the budget made this test fail
whenever the machine was loaded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.data.posters import Shot, generate
from tests.e2e.conftest import LiveServer
from tests.e2e.decoding import all_passes, single_pass

pytestmark = pytest.mark.e2e

#: Of the 45 photos of seed 2026 (the same photos every run), what the app's passes must read at least: they read
#: 41 in Chromium, one pass 31; unseen seeds 7 and 11: 43 against 28–30.
FLOOR = 38


@pytest.fixture(scope="module")
def posters(tmp_path_factory: pytest.TempPathFactory) -> list[Shot]:
    """The hard set, made fresh from the server's poster renderer."""
    return generate(Path(tmp_path_factory.mktemp("posters")), seed=2026, per_kind=5)


def test_hard_posters_read_by_the_apps_passes_never_wrongly(
    built_app: None, live_server: LiveServer, page: Any, posters: list[Shot]
) -> None:
    page.goto(f"{live_server.url}/app/")
    once = single_pass(page, live_server.url, posters)
    app = all_passes(page, live_server.url, posters)
    assert [d.shot.path.name for d in once + app if d.wrong] == []
    read_once = sum(d.right for d in once)
    read_app = sum(d.right for d in app)
    missed = Counter(d.shot.kind for d in app if not d.right)
    assert read_app >= FLOOR, (
        f"read {read_app}/{len(app)} (one pass: {read_once}); missed by kind: {dict(missed)}"
    )
    assert read_app >= read_once + 6
    # Every photo one pass reads, the app reads too (its first pass is that pass).
    assert all(a.right for a, o in zip(app, once, strict=True) if o.right)
