"""JSON API blueprints (flask-smorest): one blueprint per resource."""

from __future__ import annotations

from typing import Any


def register_api(api: Any) -> None:
    """Register every API blueprint on the app's Api."""
    from . import auth, catalogues, dashboard, devices, enterprises, hazards, inspections, map, qr
    from .reconciliation import blp as reconciliation_blp

    for module in (auth, devices, enterprises, catalogues, qr, map, hazards, inspections, dashboard):
        api.register_blueprint(module.blp)
    api.register_blueprint(reconciliation_blp)
    from .reports import blp as reports_blp

    api.register_blueprint(reports_blp)
