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
    express_cross_field_rules(api.spec.components.schemas)


def _requires_when(field: str, value: str, required: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.1): when ``field`` is ``value``, each of ``required`` must be present and match."""
    return {"if": {"properties": {field: {"const": value}}, "required": [field]},
            "then": {"required": sorted(required), "properties": required}}  # fmt: skip


#: Text with something in it besides spaces (the server strips before checking).
_NOT_BLANK = {"type": "string", "pattern": "\\S"}

#: Rules between fields that the server enforces, written into the OpenAPI so that clients (and schemathesis)
#: know them: returning an inspection needs a comment; listing needs the supervising level; extending needs the
#: new deadline and a reason; rejecting needs a reason.
CROSS_FIELD_RULES: dict[str, list[dict[str, Any]]] = {
    "Review": [_requires_when("outcome", "return", {"comment": _NOT_BLANK})],
    "HazardAction": [
        _requires_when("action", "list", {"supervision_level": _NOT_BLANK}),
        _requires_when(
            "action", "extend", {"deadline": {"type": "string", "format": "date"}, "comment": _NOT_BLANK}
        ),
        _requires_when("action", "reject", {"comment": _NOT_BLANK}),
    ],
}


def express_cross_field_rules(schemas: dict[str, dict[str, Any]]) -> None:
    """Add CROSS_FIELD_RULES to the registered component schemas (as allOf if/then clauses)."""
    for name, rules in CROSS_FIELD_RULES.items():
        if name in schemas:
            schemas[name].setdefault("allOf", []).extend(rules)
