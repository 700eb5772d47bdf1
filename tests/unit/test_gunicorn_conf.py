"""deploy/gunicorn.conf.py: what a worker does once the application is loaded."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def _load_conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_worker_freezes_the_loaded_application_out_of_the_garbage_collectors_scans(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The app's long-lived objects (models, schemas, routes) are moved to the permanent generation once loaded:
    a full collection during a push then walks only the request's own objects."""
    conf = _load_conf(monkeypatch, tmp_path)
    started: list[Any] = []
    monkeypatch.setattr(
        conf.threading, "Thread", lambda **kwargs: SimpleNamespace(start=lambda: started.append(kwargs))
    )
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        conf.post_worker_init(SimpleNamespace(wsgi=object()))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert started and started[0]["name"] == "warm-clearance"  # the cache warming still starts
