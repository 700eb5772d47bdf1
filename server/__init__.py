"""The Flask sync server: create_app() builds an app from configuration; nothing is created at import."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Kept out of run-time imports so that `import server.domain` stays free of Flask.
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from the environment plus ``config`` overrides."""
    from flask import Flask

    from server import (
        cli,
        compression,
        errors,
        extensions,
        health,
        i18n,
        observability,
        request_body,
        security,
        sync_handlers,
    )
    from server.api import register_api
    from server.config import load_config
    from server.services import audit
    from server.web import register_web

    settings = load_config(config)
    # No app-level static folder: its /static route would shadow the pages blueprint's own /static.
    app = Flask(
        __name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=False, static_folder=None
    )
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["MEDIA_ROOT"]).mkdir(parents=True, exist_ok=True)

    observability.init_app(app)
    api = extensions.init_app(app)
    audit.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    register_api(api)
    sync_handlers.init_app(app, api)
    register_web(app)
    health.init_app(app)
    cli.init_app(app)
    request_body.init_app(app)
    compression.init_app(app)
    return app
