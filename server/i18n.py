"""One language at a time on the web: the reader's language, and the one place that picks a text in it.

Chinese is the default. A signed-in user's choice (``User.language``) wins, then the ``lang`` cookie a visitor
set with the switch, then the browser's ``Accept-Language``. Devices keep getting both messages in JSON
(``messages``), since a tablet renders in its own language.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context, request

SUPPORTED = ("zh", "en")
DEFAULT = "zh"
COOKIE = "lang"


def normalise(value: str | None) -> str | None:
    """``"en-GB"`` → ``"en"``, ``"zh-CN"`` → ``"zh"``; anything else → None."""
    if not value:
        return None
    head = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return head if head in SUPPORTED else None


def current_language() -> str:
    """The language of the current request's reader ("zh" or "en"); "zh" outside a request."""
    if not has_request_context():
        return DEFAULT
    cached = g.get("language")
    if cached:
        return str(cached)
    user = g.get("user")
    chosen = normalise(getattr(user, "language", None)) or normalise(request.cookies.get(COOKIE))
    if chosen is None:
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default=DEFAULT)
        chosen = normalise(best) or DEFAULT
    g.language = chosen
    return chosen


def tr(zh: str, en: str, **values: Any) -> str:
    """The text in the reader's language, with ``{name}`` placeholders filled from ``values``."""
    text = en if current_language() == "en" else zh
    return text.format(**values) if values else text


def init_app(app: Flask) -> None:
    """Make ``tr`` and ``lang`` available to every template (``tr`` as a global, so imported macros have it)."""
    app.jinja_env.globals["tr"] = tr

    @app.context_processor
    def _language_globals() -> dict[str, Any]:
        return {"tr": tr, "lang": current_language()}
