"""JSON API blueprints (flask-smorest): one blueprint per resource."""

from __future__ import annotations

from typing import Any


def register_api(api: Any) -> None:
    """Register every API blueprint on the app's Api."""
    from . import (
        auth,
        catalogues,
        dashboard,
        devices,
        enterprises,
        hazards,
        inspections,
        map,
        qr,
        reconciliation,
        reports,
        users,
    )

    modules = (
        auth,
        devices,
        enterprises,
        catalogues,
        qr,
        map,
        hazards,
        inspections,
        dashboard,
        reconciliation,
        reports,
        users,
    )
    for module in modules:
        api.register_blueprint(module.blp)
