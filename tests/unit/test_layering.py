"""The layout's rules, read from the source with ``ast`` (imports inside functions count too):

- ``server/api``, ``server/web`` and ``server/sync_handlers`` never import one another: what two of them share
  lives below them (``server/services``, ``server/security``, ``server/caches``, ``server/extensions``);
- ``server/services`` imports only what lies below it, never the global database session (a use case is handed
  its session), and Flask only where it does today: ``current_app`` in ``audit`` and ``qr``, never the request
  globals (``request``, ``g``, ``session``);
- no import circle among the modules of ``server/`` and ``sync/``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Import:
    """One import statement's target: the module it names and the names it takes from it."""

    source: str
    target: str
    names: tuple[str, ...]
    line: int


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name → (path, is a package) of every module under server/ and sync/."""
    found: dict[str, tuple[Path, bool]] = {}
    for top in ("server", "sync"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` lands in (its longest prefix that is a module), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> Iterator[Import]:
    """Every import in ``module``, at any depth, with relative imports made absolute."""
    path, package = MODULES[module]
    return imports_in(path.read_text(encoding="utf-8"), module, package=package)


def imports_in(source: str, module: str, *, package: bool = False) -> Iterator[Import]:
    """Every import in ``source`` (the text of ``module``), at any depth."""
    here = module if package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            names = tuple(alias.name for alias in node.names)
            # `from server import security` imports the module server.security.
            submodules = [f"{base}.{name}" for name in names if f"{base}.{name}" in MODULES]
            for sub in submodules:
                yield Import(module, sub, (), node.lineno)
            if len(submodules) < len(names):
                yield Import(module, base, names, node.lineno)


def graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports (itself excluded)."""
    edges: dict[str, set[str]] = {}
    for module in MODULES:
        targets = {_resolve(imp.target) for imp in imports_of(module)}
        edges[module] = {t for t in targets if t is not None and t != module}
    return edges


def layer(module: str) -> str | None:
    """The layer of ``server`` a module belongs to (its first sub-package), or None."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "server" and len(parts) > 1 else None


# --- api, web and sync_handlers never import one another ---------------------------------------------------------

ADAPTERS = ("server.api", "server.web", "server.sync_handlers")


def test_adapters_never_import_each_other() -> None:
    crossings = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for module in MODULES
        if layer(module) in ADAPTERS
        for imp in imports_of(module)
        if (target := _resolve(imp.target)) is not None
        and layer(target) in ADAPTERS
        and layer(target) != layer(module)
    ]
    assert crossings == []


# --- services import only from below ------------------------------------------------------------------------------

#: What lies below the services: the domain, the tables, the catalogue of problems, the clock, configuration,
#: credentials, media and documents, the inspection catalogue, and the generic sync library.
BELOW_SERVICES = (
    "server.services",
    "server.domain",
    "server.models",
    "server.errors",
    "server.clock",
    "server.config",
    "server.credentials",
    "server.instance_files",
    "server.media",
    "server.documents",
    "server.qrcodes",
    "server.catalogue",
    "sync",
)

#: Flask in a service: only the app's configuration and extensions, where it is read today.
FLASK_IN_SERVICES = {("server.services.audit", "current_app"), ("server.services.qr", "current_app")}


def _service_modules() -> list[str]:
    return sorted(m for m in MODULES if layer(m) == "server.services")


@pytest.mark.parametrize("module", _service_modules())
def test_services_import_nothing_above_them(module: str) -> None:
    upward = [
        f"{imp.line}: {imp.target}"
        for imp in imports_of(module)
        if (target := _resolve(imp.target)) is not None
        and not any(target == below or target.startswith(below + ".") for below in BELOW_SERVICES)
    ]
    assert upward == [], f"{module} imports from above the services"


@pytest.mark.parametrize("module", _service_modules())
def test_services_use_flask_only_where_they_do_today(module: str) -> None:
    used = [
        (imp.target, name)
        for imp in imports_of(module)
        if imp.target.split(".")[0] == "flask"
        for name in imp.names or ("flask",)
        if (module, name) not in FLASK_IN_SERVICES
    ]
    assert used == [], f"{module} reaches for Flask"


# --- no import circles --------------------------------------------------------------------------------------------

#: No circle is allowed (sync/backend ↔ sync/engine was the last: Principal now lives in sync/principal.py).
KNOWN_CIRCLES: set[frozenset[str]] = set()


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles() -> None:
    found = [group for group in circles(graph()) if frozenset(group) not in KNOWN_CIRCLES]
    assert found == []


def test_imports_inside_functions_and_relative_imports_count() -> None:
    source = "def f():\n    from server import security\n    from .scope import x\n    import sync.engine\n"
    found = {(imp.target, imp.names) for imp in imports_in(source, "server.services.users")}
    assert found == {("server.security", ()), ("server.services.scope", ("x",)), ("sync.engine", ())}
