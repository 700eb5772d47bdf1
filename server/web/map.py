"""The supervisors' map page, and the bundled scripts of the supervisors' pages (pwa/dist-web) it loads."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, render_template, request, send_from_directory
from jinja2.utils import htmlsafe_json_dumps

from server import clock
from server.caches import map_layers_cache
from server.domain.hazards import HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.services.map_schema import view_dict
from server.services.mapclusters import Cluster, MapView, map_view
from server.services.mappoints import MapPoint, PointKind, enterprise_summaries, map_points
from server.web.access import current_supervisor, supervisor_required
from server.web.labels import label, pairs
from server.web.pwa import hidden_or_outside

bp = Blueprint("web_map", __name__, template_folder="templates")

#: The Vite entry of the map page (pwa/vite.web.config.js), as its manifest names it.
MAP_ENTRY = "src/ui/supervisor-map/main.js"
#: Where Vite writes the manifest inside the web bundle's output folder.
MANIFEST = Path(".vite") / "manifest.json"

_STATUS = {
    InspectionStatus.draft: ("草稿", "Draft"),
    InspectionStatus.submitted: ("已提交待审核", "Submitted, awaiting review"),
    InspectionStatus.approved: ("已审核通过", "Approved"),
    InspectionStatus.returned: ("已退回", "Returned"),
}
#: The popups' own texts (pwa/src/domain/mappoints.js falls back to the Chinese without them).
_POPUP = {
    "enterprise_link": ("企业详情", "Enterprise"),
    "inspection_link": ("检查详情", "Inspection"),
    "hazard_link": ("隐患详情", "Hazard"),
    "approximate": ("未记录定位，显示于企业登记位置", "No recorded position: drawn at the enterprise"),
    "deadline": ("整改期限", "Deadline"),
    "listed": ("挂牌督办", "Listed for supervision"),
    "unlocated": ("无坐标", "no coordinates"),
    "overdue": ("已逾期", "Overdue"),
}
_KIND = {
    PointKind.enterprise: ("企业", "Enterprise"),
    PointKind.inspection: ("检查", "Inspection"),
    PointKind.hazard: ("隐患", "Hazard"),
}


@dataclass(frozen=True)
class EntryAssets:
    """The URLs of an entry's built script and style sheets."""

    script: str
    styles: tuple[str, ...]


def _dist() -> Path:
    return Path(current_app.config["WEB_ASSETS_DIST"])


def entry_assets(entry: str) -> EntryAssets | None:
    """The built files of ``entry`` from the web bundle's manifest, or None when the bundle is not built.

    The manifest is read once per build: cached per app, keyed by its modification time, so that a
    rebuild while the server runs is picked up.
    """
    path = _dist() / MANIFEST
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return None
    cache: dict[str, Any] = current_app.extensions.setdefault("web_assets_manifest", {})
    if cache.get("stamp") != stamp:
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        cache.update(stamp=stamp, manifest=manifest)
    manifest = cache["manifest"]
    if entry not in manifest:
        return None
    return EntryAssets(
        script=_asset_url(manifest[entry]["file"]),
        styles=tuple(_asset_url(f) for f in _styles(manifest, entry)),
    )


def _styles(manifest: dict[str, Any], key: str, seen: set[str] | None = None) -> list[str]:
    """CSS of a chunk and of the chunks it imports (Vite lists each chunk's own CSS only)."""
    seen = set() if seen is None else seen
    if key in seen or key not in manifest:
        return []
    seen.add(key)
    styles: list[str] = []
    for imported in manifest[key].get("imports", []):
        styles.extend(s for s in _styles(manifest, imported, seen) if s not in styles)
    styles.extend(s for s in manifest[key].get("css", []) if s not in styles)
    return styles


def _asset_url(file: str) -> str:
    return f"/web-assets/{file}"


def tile_origin(template: str) -> str | None:
    """The CSP source that allows a tile URL template's images, e.g. ``https://*.tile.example`` for
    ``https://{s}.tile.example/{z}/{x}/{y}.png``; None when it is not an absolute http(s) URL."""
    parts = urlsplit(template.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    labels = parts.netloc.split(".")
    placeholders = [i for i, label in enumerate(labels) if "{" in label or "}" in label]
    if placeholders:
        # CSP wildcards only replace leading labels: {s}.tile.example and a{s}.tile.example → *.tile.example.
        rest = labels[placeholders[-1] + 1 :]
        if len(rest) < 2:
            return None
        return f"{parts.scheme}://*.{'.'.join(rest)}"
    return f"{parts.scheme}://{parts.netloc}"


def map_policy(tile_url: str) -> str:
    """The map page's Content-Security-Policy: the site's, less WebAssembly (the map runs none), plus the
    tile server's images when one is configured."""
    images = "'self' data: blob:"
    origin = tile_origin(tile_url) if tile_url else None
    if origin:
        images += f" {origin}"
    return (
        f"default-src 'self'; img-src {images}; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )


def _labels() -> dict[str, dict[str, str]]:
    """Names of the codes the points carry, in the reader's language, for the script and the table."""
    return {
        "kind": {k.value: v for k, v in pairs(_KIND).items()},
        "inspection_kind": {k.value: label(k) for k in InspectionKind},
        "status": {k.value: v for k, v in pairs(_STATUS).items()},
        "level": {k.value: label(k) for k in HazardLevel},
        "state": {k.value: label(k) for k in HazardState},
        "ui": pairs(_POPUP),
    }


def _china_day(moment: datetime) -> str:
    """The bureau's day a UTC timestamp falls on (YYYY-MM-DD), as the map's popups show it."""
    return clock.local_day(moment, clock.zone()).isoformat()


def _layer_counts(points: list[MapPoint], clusters: list[Cluster]) -> Counter[str]:
    """How many points each filter of the page shows, and how many enterprises have no coordinates."""
    counts: Counter[str] = Counter()
    for cluster in clusters:
        counts[cluster.layer] += cluster.count
    for point in points:
        counts[point.kind.value if point.kind != PointKind.hazard else f"hazard_{point.level}"] += 1
        if point.kind == PointKind.enterprise and (point.lat is None or point.lon is None):
            counts["unlocated_enterprises"] += 1
    return counts


def map_context(enterprise_id: uuid.UUID | None = None) -> dict[str, Any]:
    """What a map (the map page, or the one on an enterprise page) needs in its template."""
    user, today = current_supervisor(), clock.today()
    if enterprise_id is None:
        # A province's scope arrives as clusters; the script asks for the visible box as the map moves.
        result = map_view(
            db.session,
            user,
            kinds=list(PointKind),
            today=today,
            cluster_above=current_app.config["MAP_CLUSTER_ABOVE"],
            kept=map_layers_cache(),
        )
    else:
        one = map_points(db.session, user, today=today, enterprise_id=enterprise_id)
        located = sum(p.lat is not None and p.lon is not None for p in one.points)
        result = MapView(one.points, total=located, inspections_truncated=one.inspections_truncated)
    tile_url = current_app.config.get("MAP_TILE_URL", "")
    labels = _labels()
    data = {
        **view_dict(result, current_app.config["MAP_CLUSTER_ABOVE"]),
        "labels": labels,
        "tiles": {"url": tile_url, "attribution": current_app.config.get("MAP_TILE_ATTRIBUTION", "")}
        if tile_url
        else None,
    }
    return {
        "result": result,
        # Clustered, the table would be thousands of rows: the enterprises' list pages through them instead.
        "rows": [] if result.clustered else enterprise_summaries(result.points),
        # Text as UTF-8 rather than \u escapes: a county's points are megabytes either way.
        "data_json": htmlsafe_json_dumps(data, dumps=json.dumps, ensure_ascii=False, separators=(",", ":")),
        "labels": labels,
        "china_day": _china_day,
        "counts": _layer_counts(result.points, result.clusters),
        "assets": entry_assets(MAP_ENTRY),
        "has_tiles": bool(tile_url),
    }


def with_map_policy(html: str) -> Any:
    """A response for a page holding a map: the site's policy, plus the tile server's origin if one is set."""
    response = make_response(html)
    response.headers["Content-Security-Policy"] = map_policy(current_app.config.get("MAP_TILE_URL", ""))
    return response


@bp.route("/map")
@supervisor_required
def map_page() -> Any:
    """Enterprises, recent inspections and open hazards in the supervisor's scope (or of one enterprise of
    it, ``?enterprise=<id>``), on a map and as a table."""
    raw = request.args.get("enterprise", "").strip()
    enterprise_id = None
    if raw:
        try:
            enterprise_id = uuid.UUID(raw)
        except ValueError:
            abort(404)
    return with_map_policy(
        render_template("map.html", enterprise_id=enterprise_id, **map_context(enterprise_id))
    )


@bp.route("/web-assets/<path:name>")
def web_asset(name: str) -> Any:
    """A file of the supervisors' pages' bundle; hashed assets may be cached for a year."""
    if hidden_or_outside(name):
        abort(404)  # the build's own manifest is for the server, not for browsers; nothing outside the bundle
    response = send_from_directory(_dist(), name)
    if name.startswith("assets/"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response
