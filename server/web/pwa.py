"""Serves the built PWA (pwa/dist) under /app/, with the service worker allowed to control /app/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, send_from_directory
from werkzeug.exceptions import NotFound

from server.errors import app_not_built
from server.web.forms import tr_problem

bp = Blueprint("pwa", __name__)

#: The app shell and the service worker must always be revalidated; hashed assets may be cached for long.
_NO_CACHE = ("index.html", "sw.js", "manifest.webmanifest")


def hidden_or_outside(name: str) -> bool:
    """True for a path that names a hidden file or folder (the build's .vite manifest) or climbs out with '..'
    (sent encoded as %2e%2e it reaches the view decoded); such a path is never served."""
    return any(part.startswith(".") for part in name.replace("\\", "/").split("/"))


def _dist() -> Path:
    return Path(current_app.config["PWA_DIST"])


@bp.route("/app/")
@bp.route("/app/<path:name>")
def app_file(name: str = "index.html") -> Any:
    """A file of the built app; unknown paths get the shell, so that the app's own routes load offline too."""
    dist = _dist()
    if hidden_or_outside(name):
        raise NotFound()
    if not (dist / "index.html").is_file():
        return tr_problem(app_not_built()), 503
    target = name if (dist / name).is_file() else "index.html"
    try:
        response = send_from_directory(dist, target)
    except NotFound:
        response = send_from_directory(dist, "index.html")
    if target in _NO_CACHE:
        response.headers["Cache-Control"] = "no-cache"
    elif target.startswith("assets/"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    if target == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/app/"
    return response
