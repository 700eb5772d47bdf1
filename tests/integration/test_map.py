"""The supervisors' map: the page, its points in the caller's scope, its CSP, and the bundled scripts it loads."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import clock
from server.domain.hazards import HazardEventKind as K
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import Catalogue, Enterprise, Inspection, Region, User
from server.models.hazard import HazardSource
from server.services.hazards import append_event, record_hazard
from server.services.map_schema import MapPointSchema, point_dict
from server.services.mapclusters import LAYERS, map_view
from server.services.mappoints import Box, MapPoint, PointKind, map_points
from server.services.scope import region_subtree_ids
from server.web.map import tile_origin
from tests.conftest import login

T0 = datetime(2025, 6, 3, 9, 30, tzinfo=UTC)
XX_STEEL = "兴县晋兴特钢有限公司"
LX_STEEL = "临县湫水钢铁有限公司"
MANIFEST = {
    "src/ui/supervisor-map/main.js": {
        "file": "assets/main-abc123.js", "src": "src/ui/supervisor-map/main.js", "isEntry": True,
        "imports": ["_leaflet-def456.js"], "css": ["assets/main-abc123.css"],
    },
    "_leaflet-def456.js": {"file": "assets/leaflet-def456.js", "css": ["assets/leaflet-def456.css"]},
}  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    login(client, username)
    return client


def _enterprise(name: str) -> Enterprise:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
    assert enterprise is not None
    return enterprise


def _data_island(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    assert match, "the page carries its data as a JSON island"
    return dict(json.loads(match.group(1)))


def _points(client: FlaskClient, **query: str) -> list[dict[str, Any]]:
    reply = client.get("/api/map/points", query_string=query)
    assert reply.status_code == 200, reply.get_json()
    return list(reply.get_json()["points"])


def _fake_bundle(app: Flask, root: Path) -> Path:
    dist = root / "dist-web"
    (dist / ".vite").mkdir(parents=True)
    (dist / "assets").mkdir()
    (dist / ".vite" / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    (dist / "assets" / "main-abc123.js").write_text("console.log('map');\n", encoding="utf-8")
    (root / "outside.txt").write_text("not for browsers", encoding="utf-8")
    app.config["WEB_ASSETS_DIST"] = str(dist)
    return dist


@pytest.fixture
def records(app: Flask) -> dict[str, str]:
    """Enterprises of the test's own (the demo county may have activity of its own) with inspections (with
    and without a position) and hazards (open, overdue, closed), in 兴县 and 临县."""
    with app.app_context():
        catalogue = db.session.scalar(sa.select(Catalogue))
        assert catalogue is not None

        def enterprise(name: str, county: str, code: str) -> Enterprise:
            region_id = db.session.scalar(sa.select(Region.id).where(Region.name == county))
            assert region_id is not None
            row = Enterprise(name=name, credit_code=code, region_id=region_id, lat=38.45, lon=111.2)
            db.session.add(row)
            return row

        steel = enterprise("地图测试特钢有限公司", "兴县", "91141123MAPTEST001")
        flour = enterprise("地图测试面粉有限公司", "兴县", "91141123MAPTEST002")
        lx_steel = enterprise("地图测试临县钢铁有限公司", "临县", "91141124MAPTEST003")
        db.session.flush()
        located = Inspection(enterprise_id=steel.id, catalogue_id=catalogue.id, kind=InspectionKind.county,
                             status=InspectionStatus.approved, started_at=T0, start_lat=38.4812, start_lon=111.1234)  # fmt: skip
        no_fix = Inspection(enterprise_id=flour.id, catalogue_id=catalogue.id, kind=InspectionKind.unannounced,
                            status=InspectionStatus.submitted, started_at=T0 + timedelta(days=1))  # fmt: skip
        elsewhere = Inspection(enterprise_id=lx_steel.id, catalogue_id=catalogue.id, kind=InspectionKind.county,
                               status=InspectionStatus.draft, started_at=T0)  # fmt: skip
        db.session.add_all([located, no_fix, elsewhere])

        def hazard(enterprise: Enterprise, level: HazardLevel, deadline: date, text: str) -> Any:
            return record_hazard(db.session, enterprise=enterprise, description=text, level=level, found_at=T0,
                                 deadline=deadline, source=HazardSource.inspection, place="1号高炉主控室")  # fmt: skip

        overdue = hazard(steel, HazardLevel.major, date(2025, 6, 30), "<script>alert('hazard')</script>")
        reported = hazard(steel, HazardLevel.general, date(2025, 6, 30), "平台栏杆缺失" * 10)
        append_event(db.session, reported, K.rectification_reported, T0 + timedelta(days=1))
        closed = hazard(flour, HazardLevel.general, date(2025, 6, 30), "已销号的隐患")
        for step, kind in enumerate((K.rectification_reported, K.accepted, K.closed), 1):
            append_event(db.session, closed, kind, T0 + timedelta(days=step))
        lx_hazard = hazard(lx_steel, HazardLevel.major, date(2025, 6, 30), "临县的隐患")
        db.session.commit()
        return {
            "located": str(located.id), "no_fix": str(no_fix.id), "elsewhere": str(elsewhere.id),
            "overdue": str(overdue.id), "reported": str(reported.id), "closed": str(closed.id),
            "lx_hazard": str(lx_hazard.id), "steel": str(steel.id), "flour": str(flour.id),
        }  # fmt: skip


def test_county_supervisor_sees_the_map_page_with_a_table_and_the_data(app: Flask, tmp_path: Path) -> None:
    _fake_bundle(app, tmp_path)
    client = _signed_in(app, "xx_sup")
    page = client.get("/map")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "企业列表" in html and XX_STEEL in html and LX_STEEL not in html
    data = _data_island(html)
    names = {p["enterprise_name"] for p in data["points"] if p["kind"] == "enterprise"}
    assert XX_STEEL in names and LX_STEEL not in names
    assert data["tiles"] is None and data["labels"]["level"]["major"] == "重大事故隐患"
    # The CSP allows no inline script or style: only the JSON island and the bundled module may appear.
    assert " style=" not in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('type="application/json"' in s or " src=" in s for s in scripts)
    # No tile server configured: the page says so, and a grid drawn by the bundle stands in (no CDN).
    assert 'id="map-basemap-note"' in html and "未配置底图（MAP_TILE_URL），以经纬网格代替" in html


def test_the_legend_shows_every_colour_the_map_draws(app: Flask, tmp_path: Path) -> None:
    """map.css holds one swatch per colour a point is drawn with (pwa/test/mappoints.test.js checks that against
    pointStyle); the page's legend shows each of them, and the map's script and style come from this server."""
    _fake_bundle(app, tmp_path)
    html = _signed_in(app, "xx_sup").get("/map").get_data(as_text=True)
    css = (ROOT / "pwa" / "src" / "ui" / "supervisor-map" / "map.css").read_text(encoding="utf-8")
    swatches = set(re.findall(r"^\.(swatch-[a-z-]+) \{", css, re.M)) - {"swatch-inspection"}
    legend = re.search(r'<ul class="map-legend" id="map-legend".*?</ul>', html, re.S)
    assert legend is not None
    shown = set(re.findall(r'class="swatch (swatch-[a-z-]+)"', legend.group(0)))
    assert len(swatches) >= 9
    assert shown == swatches
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


@pytest.mark.parametrize("username", ["xx_insp1", "qy_jinxing"])
def test_other_roles_are_told_the_map_does_not_exist(app: Flask, username: str) -> None:
    client = _signed_in(app, username)
    assert client.get("/map").status_code == 404
    reply = client.get("/api/map/points")
    assert reply.status_code == 404 and reply.get_json()["code"] == "404.1"


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    page = client.get("/map")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.get("/api/map/points").status_code == 401


def test_points_stay_within_the_callers_scope(app: Flask) -> None:
    county = _points(_signed_in(app, "xx_sup"), kind="enterprise")
    names = {p["enterprise_name"] for p in county}
    assert XX_STEEL in names and LX_STEEL not in names and all(p["kind"] == "enterprise" for p in county)
    city = {p["enterprise_name"] for p in _points(_signed_in(app, "ll_city"), kind="enterprise")}
    assert {XX_STEEL, LX_STEEL} <= city
    other_county = {p["enterprise_name"] for p in _points(_signed_in(app, "lx_sup"), kind="enterprise")}
    assert LX_STEEL in other_county and XX_STEEL not in other_county
    with app.app_context():
        county_id = db.session.scalar(sa.select(Region.id).where(Region.name == "兴县"))
        assert county_id is not None
        regions = region_subtree_ids(db.session, county_id)  # the county and its zones
        expected = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Enterprise)
            .where(Enterprise.region_id.in_(regions), Enterprise.deleted_at.is_(None))
        )
    assert len(county) == expected
    located = county[0]
    assert isinstance(located["lat"], float) and located["approximate"] is False


def test_inspections_and_open_hazards_are_placed_and_flagged(app: Flask, records: dict[str, str]) -> None:
    client = _signed_in(app, "xx_sup")
    points = {p["id"]: p for p in _points(client)}
    located, no_fix = points[records["located"]], points[records["no_fix"]]
    assert (located["lat"], located["lon"], located["approximate"]) == (38.4812, 111.1234, False)
    assert located["status"] == "approved" and located["inspection_kind"] == "county"
    flour = points[records["flour"]]
    assert (no_fix["lat"], no_fix["lon"], no_fix["approximate"]) == (flour["lat"], flour["lon"], True)
    overdue, reported = points[records["overdue"]], points[records["reported"]]
    assert overdue["kind"] == "hazard" and overdue["level"] == "major" and overdue["state"] == "found"
    assert overdue["overdue"] is True and overdue["deadline"] == "2025-06-30"
    # A reported rectification awaits acceptance: its delay is not the enterprise's.
    assert reported["state"] == "reported" and reported["overdue"] is False
    assert reported["description"] == ("平台栏杆缺失" * 10)[:40] + "…"  # the whole text is on its page
    assert records["closed"] not in points
    assert records["elsewhere"] not in points and records["lx_hazard"] not in points
    kinds = {p["kind"] for p in _points(client, kind="hazard")}
    assert kinds == {"hazard"}
    refused = client.get("/api/map/points", query_string={"kind": "everything"})
    assert refused.status_code == 400 and "kind" in json.dumps(refused.get_json()["details"])
    city = {p["id"] for p in _points(_signed_in(app, "ll_city"))}
    assert {records["elsewhere"], records["lx_hazard"], records["located"]} <= city


def test_the_page_keeps_user_text_inert_and_lists_points_without_coordinates(
    app: Flask, records: dict[str, str], tmp_path: Path
) -> None:
    _fake_bundle(app, tmp_path)  # the data island is written only when the map's script is there to read it
    with app.app_context():
        flour = _enterprise("地图测试面粉有限公司")
        flour.lat = None
        flour.name = "丰源<img src=x onerror=alert(1)>面粉"
        db.session.commit()
    html = _signed_in(app, "xx_sup").get("/map").get_data(as_text=True)
    # Neither the table nor the data island lets user text become markup (or close the island early).
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "丰源&lt;img src=x onerror=alert(1)&gt;面粉" in html
    points = {p["id"]: p for p in _data_island(html)["points"]}
    assert points[records["overdue"]]["description"] == "<script>alert('hazard')</script>"
    assert points[records["flour"]]["enterprise_name"] == "丰源<img src=x onerror=alert(1)>面粉"
    # Without coordinates a point is kept (the script lists it as 无坐标), and the table says so.
    assert points[records["flour"]]["lat"] is None and "lon" in points[records["flour"]]
    assert points[records["no_fix"]]["lat"] is None  # nowhere to fall back to
    assert "无坐标" in html
    steel_row = html[html.index(f'href="/enterprises/{records["steel"]}"') :].split("</tr>")[0]
    assert f'href="/inspections/{records["located"]}"' in steel_row
    assert "2 项" in steel_row and "重大 1" in steel_row and "逾期 1" in steel_row


def test_inspections_are_capped_to_the_most_recent(app: Flask, records: dict[str, str]) -> None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None
        whole = map_points(db.session, user, kinds=[PointKind.inspection], today=clock.today())
        assert len(whole.points) >= 2 and whole.inspections_truncated is False
        times = [p.started_at for p in whole.points if p.started_at is not None]
        assert times == sorted(times, reverse=True)
        capped = map_points(
            db.session,
            user,
            kinds=[PointKind.inspection],
            today=clock.today(),
            inspection_limit=len(whole.points) - 1,
        )
        assert capped.points == whole.points[:-1] and capped.inspections_truncated is True


def test_a_tile_server_is_allowed_by_the_map_pages_csp_only(app: Flask, tmp_path: Path) -> None:
    _fake_bundle(app, tmp_path)
    client = _signed_in(app, "xx_sup")
    without = client.get("/map").headers["Content-Security-Policy"]
    assert "tile.example" not in without and "script-src 'self'" in without
    app.config["MAP_TILE_URL"] = "https://{s}.tile.example/{z}/{x}/{y}.png"
    app.config["MAP_TILE_ATTRIBUTION"] = "© <b>OpenStreetMap</b>"
    page = client.get("/map")
    policy = page.headers["Content-Security-Policy"]
    img_src = next(d for d in policy.split(";") if d.strip().startswith("img-src"))
    assert "https://*.tile.example" in img_src
    assert "'unsafe-inline'" not in policy
    data = _data_island(page.get_data(as_text=True))
    assert data["tiles"] == {
        "url": "https://{s}.tile.example/{z}/{x}/{y}.png",
        "attribution": "© <b>OpenStreetMap</b>",
    }
    assert "tile.example" not in client.get("/").headers["Content-Security-Policy"]
    assert "tile.example" not in client.get("/api/map/points").headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        ("https://{s}.tile.example/{z}/{x}/{y}.png", "https://*.tile.example"),
        ("https://tiles.example.cn:8443/{z}/{x}/{y}.png", "https://tiles.example.cn:8443"),
        ("http://a{s}.maps.example.org/{z}/{x}/{y}{r}.png", "http://*.maps.example.org"),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("javascript:alert(1)", None),
        ("https://{s}.example/{z}/{x}/{y}.png", None),
    ],
)
def test_tile_origins(template: str, origin: str | None) -> None:
    assert tile_origin(template) == origin


def test_the_page_loads_the_built_bundle_or_says_it_is_missing(app: Flask, tmp_path: Path) -> None:
    client = _signed_in(app, "xx_sup")
    app.config["WEB_ASSETS_DIST"] = str(tmp_path / "not-built")
    missing = client.get("/map").get_data(as_text=True)
    assert "地图脚本尚未构建，请运行 make pwa" in missing
    assert "/web-assets/" not in missing and 'id="map-table" open' in missing and XX_STEEL in missing
    _fake_bundle(app, tmp_path)
    built = client.get("/map").get_data(as_text=True)
    assert '<script type="module" src="/web-assets/assets/main-abc123.js"></script>' in built
    assert built.index("/web-assets/assets/leaflet-def456.css") < built.index(
        "/web-assets/assets/main-abc123.css"
    )
    assert "地图脚本尚未构建" not in built and 'id="map-panel" hidden' in built


def test_bundle_files_are_served_and_nothing_else(app: Flask, tmp_path: Path) -> None:
    _fake_bundle(app, tmp_path)
    client = app.test_client()
    served = client.get("/web-assets/assets/main-abc123.js")
    assert served.status_code == 200 and b"console.log" in served.data
    assert "immutable" in served.headers["Cache-Control"]
    served.close()
    assert client.get("/web-assets/assets/missing.js").status_code == 404
    assert client.get("/web-assets/.vite/manifest.json").status_code == 404
    for sneaky in (
        "/web-assets/../outside.txt",
        "/web-assets/..%2foutside.txt",
        "/web-assets/assets/..%2F..%2Foutside.txt",
    ):
        reply = client.get(sneaky)
        assert reply.status_code == 404, sneaky
        assert b"not for browsers" not in reply.data


def test_one_enterprises_map_holds_only_its_points(
    app: Flask, records: dict[str, str], tmp_path: Path
) -> None:
    _fake_bundle(app, tmp_path)
    client = _signed_in(app, "xx_sup")
    for url in (f"/map?enterprise={records['steel']}", f"/enterprises/{records['steel']}"):
        page = client.get(url)
        assert page.status_code == 200, url
        points = _data_island(page.get_data(as_text=True))["points"]
        assert {p["enterprise_id"] for p in points} == {records["steel"]}, url
        assert {records["overdue"], records["reported"]} <= {p["id"] for p in points}
        assert "img-src" in page.headers["Content-Security-Policy"]
    assert client.get("/map?enterprise=not-a-uuid").status_code == 404
    # Another county's enterprise shows nothing, on the map as on its page.
    lx_points = _data_island(client.get(f"/map?enterprise={_lx_steel_id(app)}").get_data(as_text=True))[
        "points"
    ]
    assert lx_points == []


def _lx_steel_id(app: Flask) -> str:
    with app.app_context():
        return str(db.session.scalar(sa.select(Enterprise.id).where(Enterprise.name == LX_STEEL)))


# Province scale (issue 17, item 5): the map asks for its visible box and gets clusters above a threshold.


def _user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    return user


def _layer(point: MapPoint) -> str:
    if point.kind == PointKind.hazard:
        return "hazard_major" if point.level == HazardLevel.major else "hazard_general"
    return point.kind.value


#: Around the test's enterprises (38.45, 111.2) and the located inspection (38.4812, 111.1234).
AROUND = Box(38.40, 111.10, 38.50, 111.25)


@pytest.mark.parametrize("zoom", [3, 8, 12, 17])
@pytest.mark.parametrize("box", [None, AROUND])
def test_cluster_counts_add_up_to_the_points_in_the_box_per_layer(
    app: Flask, records: dict[str, str], zoom: int, box: Box | None
) -> None:
    with app.app_context():
        for username in ("xx_sup", "ll_city"):
            user, today = _user(username), clock.today()
            points = map_points(db.session, user, today=today, box=box).points
            located = [p for p in points if p.lat is not None and p.lon is not None]
            view = map_view(
                db.session, user, kinds=list(PointKind), today=today, box=box, zoom=zoom, cluster_above=0
            )
            assert view.clustered and view.total == len(located) > 0
            assert sum(c.count for c in view.clusters) == view.total
            by_layer = {layer: sum(c.count for c in view.clusters if c.layer == layer) for layer in LAYERS}
            assert by_layer == {layer: sum(_layer(p) == layer for p in located) for layer in LAYERS}
            # Overdue colours survive clustering: the same hazards are counted as overdue.
            assert sum(c.overdue for c in view.clusters) == sum(p.overdue for p in located) > 0
            if box is not None:
                assert all(box.contains(c.lat, c.lon) for c in view.clusters)
            # Below the threshold the same box gives the points themselves, and the same total.
            few = map_view(
                db.session, user, kinds=list(PointKind), today=today, box=box, zoom=zoom, cluster_above=10**6
            )
            assert (
                not few.clustered and few.clusters == [] and few.points == points and few.total == view.total
            )


def test_clusters_never_count_a_point_outside_the_callers_scope(app: Flask, records: dict[str, str]) -> None:
    # 临县's test enterprise and its hazard stand at the same spot as 兴县's: only the city sees them.
    spot = Box(38.449, 111.199, 38.451, 111.201)
    with app.app_context():
        today = clock.today()
        counts = {}
        for username in ("xx_sup", "lx_sup", "ll_city"):
            view = map_view(
                db.session,
                _user(username),
                kinds=list(PointKind),
                today=today,
                box=spot,
                zoom=6,
                cluster_above=0,
            )
            counts[username] = {
                layer: sum(c.count for c in view.clusters if c.layer == layer) for layer in LAYERS
            }
    for layer in LAYERS:
        assert counts["xx_sup"][layer] + counts["lx_sup"][layer] == counts["ll_city"][layer]
    assert counts["xx_sup"]["hazard_major"] == 1 and counts["lx_sup"]["hazard_major"] == 1  # ours, theirs
    assert counts["xx_sup"]["enterprise"] == 2 and counts["lx_sup"]["enterprise"] == 1


def test_the_points_api_answers_the_box_and_clusters_above_the_threshold(
    app: Flask, records: dict[str, str]
) -> None:
    client = _signed_in(app, "xx_sup")
    box = {"south": "38.40", "west": "111.10", "north": "38.50", "east": "111.25", "zoom": "12"}
    reply = client.get("/api/map/points", query_string=box).get_json()
    assert reply["clustered"] is False and reply["clusters"] == []
    inside = {p["id"] for p in reply["points"]}
    assert {records["steel"], records["flour"], records["located"], records["overdue"]} <= inside
    assert records["lx_hazard"] not in inside and reply["total"] == len(reply["points"])
    assert all(AROUND.contains(p["lat"], p["lon"]) for p in reply["points"])
    far = client.get("/api/map/points", query_string={**box, "south": "20", "north": "21"}).get_json()
    assert far["points"] == [] and far["total"] == 0
    half = client.get("/api/map/points", query_string={"south": "38", "west": "111"})
    assert half.status_code == 400  # a box needs its four sides
    app.config["MAP_CLUSTER_ABOVE"] = 1
    clustered = client.get("/api/map/points", query_string=box).get_json()
    assert clustered["clustered"] is True and clustered["points"] == []
    assert sum(c["count"] for c in clustered["clusters"]) == clustered["total"] == len(reply["points"])
    assert {c["layer"] for c in clustered["clusters"]} <= set(LAYERS)


def test_the_plain_dump_is_the_documented_one(app: Flask, records: dict[str, str]) -> None:
    with app.app_context():
        points = map_points(db.session, _user("ll_city"), today=clock.today()).points
    assert {p.kind for p in points} == set(PointKind)
    assert [point_dict(p) for p in points] == MapPointSchema(many=True).dump(points)


def test_a_clustered_map_page_lists_counts_and_the_points_without_coordinates(
    app: Flask, records: dict[str, str], tmp_path: Path
) -> None:
    _fake_bundle(app, tmp_path)
    with app.app_context():
        flour = db.session.get(Enterprise, uuid.UUID(records["flour"]))
        assert flour is not None
        flour.lat = flour.lon = None
        db.session.commit()
    app.config["MAP_CLUSTER_ABOVE"] = 1
    html = _signed_in(app, "xx_sup").get("/map").get_data(as_text=True)
    data = _data_island(html)
    assert data["clustered"] is True and 'id="map-clustered"' in html and 'id="map-table"' not in html
    assert sum(c["count"] for c in data["clusters"]) == data["total"] > 0
    # What has no coordinates is in no cell: it is still listed, as on a county's map.
    unlocated = {p["id"] for p in data["points"]}
    assert {records["flour"], records["no_fix"]} <= unlocated
    assert all(p["lat"] is None or p["lon"] is None for p in data["points"])
