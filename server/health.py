"""/healthz (the process answers; its version), /readyz (database and photo store reachable) and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from server.extensions import current_backend, db
from server.services import operations
from sync.problems import Problem

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up: always 200 with the running version (a load balancer's liveness check)."""
    response = jsonify(status="ok", version=operations.app_version())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready for traffic: the database answers at the schema this code expects, and the photo store answers.

    503 (with each check's verdict) otherwise, so nginx or a load balancer sends devices elsewhere.
    """
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))  # reachable at all, before asking which schema it is at
        schema = operations.database_schema(db.session)
        expected = operations.code_schema_heads()
        checks["database"] = (
            "ok" if schema == expected else f"schema {list(schema)}, code expects {list(expected)}"
        )
    except Exception as error:  # whatever the driver raises: the verdict is "not reachable"
        db.session.rollback()
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        current_backend().blobs.check()
        checks["photo_store"] = "ok"
    except Problem as problem:
        checks["photo_store"] = f"unreachable: {problem.code}"
    except Exception as error:
        checks["photo_store"] = f"unreachable: {type(error).__name__}"
    ready = all(verdict == "ok" for verdict in checks.values())
    response = jsonify(
        status="ok" if ready else "unavailable", version=operations.app_version(), checks=checks
    )
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


class _BacklogCollector:
    """Gauges read from the database at scrape time: the same whichever server or worker is scraped."""

    def __init__(self, backlog: operations.Backlog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily(
            "sync_quarantined_mutations", "Pushed mutations held in quarantine, unresolved.",
            value=self._backlog.quarantined,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "sync_pending_photo_uploads", "Photo records whose bytes have not been uploaded yet.",
            value=self._backlog.pending_uploads,
        )  # fmt: skip


@bp.route("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics, for the addresses in METRICS_ALLOWED_IPS only."""
    from prometheus_client import CONTENT_TYPE_LATEST

    if request.remote_addr not in current_app.config["METRICS_ALLOWED_IPS"]:
        abort(404)
    backlog = operations.backlog(db.session)
    db.session.rollback()
    body = current_app.extensions["metrics"].exposition(_BacklogCollector(backlog))
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    """Register the probes."""
    app.register_blueprint(bp)
