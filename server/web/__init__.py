"""Server-rendered pages (Jinja): sign-in, QR landing, the supervisors' pages and the enterprises' portal."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Register the page blueprints."""
    from . import (
        admin,
        devices,
        documents,
        expert_opinions,
        jobs,
        labels,
        language,
        ledger_io,
        map,
        portal,
        pwa,
        reconciliation,
        reports,
        review,
        sampling,
        scoring,
        stop_orders,
        submissions,
        supervise,
        views,
    )

    for module in (
        views,
        pwa,
        map,
        supervise,
        review,
        portal,
        reconciliation,
        ledger_io,
        reports,
        documents,
        sampling,
        devices,
        submissions,
        stop_orders,
        scoring,
        expert_opinions,
        admin,
        language,
        jobs,
    ):
        app.register_blueprint(module.bp)
    supervise.register_filters(app)
    labels.register_filters(app)
