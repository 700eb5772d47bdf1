"""Server-rendered pages (Jinja): sign-in, the landing page of QR codes, and the supervisor's pages."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Register the page blueprints."""
    from . import map, portal, pwa, review, supervise, views
    from .reconciliation import bp as reconciliation_bp

    app.register_blueprint(views.bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(map.bp)
    app.register_blueprint(supervise.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(portal.bp)
    supervise.register_filters(app)
    app.register_blueprint(reconciliation_bp)
    from .ledger_io import bp as ledger_io_bp

    app.register_blueprint(ledger_io_bp)
    from .reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    from .documents import bp as documents_bp

    app.register_blueprint(documents_bp)
    from .sampling import bp as sampling_bp

    app.register_blueprint(sampling_bp)
