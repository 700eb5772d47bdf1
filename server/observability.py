"""Request ids, the client address behind nginx, one log line per request (ISO-8601 with the bureau's offset,
optionally JSON lines) and Prometheus metrics of sync latency.

Metrics are multiprocess-safe under gunicorn: deploy/gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a
folder it empties on start, every worker writes its samples there and /metrics adds them up, so a scrape
sees the whole server whichever worker answers it. Without that variable (the tests, `flask run`) the
figures are the answering process's own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: Sync latency buckets (seconds): a push of one inspection takes tens of milliseconds, a slow one seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The endpoints whose latency is measured, by their metric label.
_TIMED = {"sync.push": "push", "sync.pull": "pull", "sync.blobs_upload": "blob_upload"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HANDLER_MARK = "_field_inspection_handler"


class Metrics:
    """The app's Prometheus metrics: sync request latency by route and status."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.registry = CollectorRegistry()
        self.sync_seconds = Histogram(
            "sync_request_duration_seconds",
            "Time to answer a sync request (push, pull, photo chunk), by route and HTTP status.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def exposition(self, extra: Any) -> bytes:
        """The metrics in Prometheus' text format: every worker's samples (multiprocess) plus ``extra``."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        scrape = CollectorRegistry()
        scrape.register(extra)
        return generate_latest(registry) + generate_latest(scrape)


def request_id() -> str | None:
    """This request's id (the one nginx sent in X-Request-ID, else one made here), None outside a request."""
    return getattr(g, "request_id", None) if has_request_context() else None


class _RequestIdFilter(logging.Filter):
    """Give every log record the request id and client address of the request it was written in."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        record.client = request.remote_addr if has_request_context() else "-"
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is written (a test runner swaps it between tests)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _Formatter(logging.Formatter):
    """ISO-8601 times with the bureau's offset; text or one JSON object per line."""

    def __init__(self, zone: str, as_json: bool) -> None:
        super().__init__()
        self.zone = ZoneInfo(zone)
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="milliseconds")
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        fields = getattr(record, "fields", None)
        if self.as_json:
            entry = {"time": stamp, "level": record.levelname, "logger": record.name,
                     "request_id": getattr(record, "request_id", "-"), "client": getattr(record, "client", "-"),
                     "message": message, **(fields or {})}  # fmt: skip
            return json.dumps(entry, ensure_ascii=False, default=str)
        return (f"{stamp} {record.levelname} {record.name} [{getattr(record, 'request_id', '-')}] "
                f"{getattr(record, 'client', '-')} {message}")  # fmt: skip


def configure_logging(app: Flask) -> None:
    """Log the app's records (one handler, whatever number of apps a process builds) in the chosen format."""
    from flask.logging import default_handler

    logger = logging.getLogger(app.name)
    logger.removeHandler(default_handler)
    handler = next((h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = _StderrHandler()
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(_RequestIdFilter())
        logger.addHandler(handler)
    handler.setFormatter(_Formatter(app.config["TIMEZONE"], app.config["LOG_FORMAT"] == "json"))
    logger.setLevel(app.config["LOG_LEVEL"])
    logger.propagate = False


def init_app(app: Flask) -> Metrics:
    """Trust X-Forwarded-* from PROXY_HOPS proxies, id and time every request, log it, measure sync."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Only as many proxies as configured are believed: a client cannot forge its address past nginx.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    configure_logging(app)
    metrics = Metrics()
    app.extensions["metrics"] = metrics
    access = logging.getLogger(f"{app.name}.request")

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _finish(response: Response) -> Response:
        started = getattr(g, "request_started", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        response.headers["X-Request-ID"] = g.request_id
        route = _TIMED.get(request.endpoint or "")
        if route is not None:
            metrics.sync_seconds.labels(route=route, status=str(response.status_code)).observe(seconds)
        if app.config["LOG_REQUESTS"]:
            fields = {"method": request.method, "host": request.host, "path": request.path,
                      "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
                      "bytes": response.content_length}  # fmt: skip
            access.info(
                "%s %s %s %.1f ms", request.method, request.full_path.rstrip("?"), response.status_code,
                seconds * 1000, extra={"fields": fields},
            )  # fmt: skip
        return response

    return metrics
