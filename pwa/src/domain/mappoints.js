// What the supervisors' map draws from the points of /api/map/points: which layer, what style, what the
// popup says and where it links, the bounds to fit, and the points that have no coordinates. No DOM here:
// popups are plain text that src/ui puts into nodes with textContent.

/** The filterable layers, in drawing order: later layers are drawn on top, with smaller circles. */
export const LAYERS = ["enterprise", "inspection", "hazard_general", "hazard_major"];

const INSPECTION_COLOURS = {
  draft: "#8a96a3",
  submitted: "#0b5cad",
  approved: "#1e7b34",
  returned: "#7b3fa0",
};
const PAGES = { enterprise: "/enterprises/", inspection: "/inspections/", hazard: "/hazards/" };
const DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });

/** The layer (filter checkbox) a point belongs to. */
export function layerOf(point) {
  if (point.kind === "hazard") return point.level === "major" ? "hazard_major" : "hazard_general";
  return point.kind;
}

/** True when the point can be drawn: finite WGS-84 coordinates, and not 0,0 (a tablet's "no fix"). */
export function hasCoordinates(point) {
  const { lat, lon } = point ?? {};
  if (typeof lat !== "number" || typeof lon !== "number" || !Number.isFinite(lat) || !Number.isFinite(lon)) return false;
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return false;
  return !(lat === 0 && lon === 0);
}

/** Points that can be drawn and points listed as 无坐标 instead, each in the order given. */
export function partition(points) {
  const located = [];
  const unlocated = [];
  for (const point of points) (hasCoordinates(point) ? located : unlocated).push(point);
  return { located, unlocated };
}

/** [[south, west], [north, east]] around the points that have coordinates, or null when none has. */
export function boundsOf(points) {
  let south = Infinity, west = Infinity, north = -Infinity, east = -Infinity;
  for (const point of points) {
    if (!hasCoordinates(point)) continue;
    south = Math.min(south, point.lat);
    north = Math.max(north, point.lat);
    west = Math.min(west, point.lon);
    east = Math.max(east, point.lon);
  }
  return south === Infinity ? null : [[south, west], [north, east]];
}

/** Leaflet path options for a circle marker: colour by kind, inspection status and hazard level;
 * dashed when drawn at the enterprise instead of where it was recorded; a thick border when overdue. */
export function pointStyle(point) {
  switch (layerOf(point)) {
    case "enterprise":
      return { radius: 10, color: "#44515f", weight: 2, fillColor: "#ffffff", fillOpacity: 0.6, dashArray: null };
    case "inspection": {
      const colour = INSPECTION_COLOURS[point.status] ?? INSPECTION_COLOURS.submitted;
      return {
        radius: 7, color: colour, weight: 2, fillColor: colour,
        fillOpacity: point.approximate ? 0.25 : 0.75, dashArray: point.approximate ? "4 3" : null,
      };
    }
    default: {
      const major = point.level === "major";
      const fill = major ? "#b3261e" : "#e08a00";
      return {
        radius: 6, color: point.overdue ? "#1d2733" : major ? "#7a1712" : "#a35a00",
        weight: point.overdue ? 3 : 1.5, fillColor: fill, fillOpacity: 0.95, dashArray: null,
      };
    }
  }
}

// Record ids are UUIDs; anything else (a dot segment, a path, a scheme) gets no link rather than a wrong one.
const SAFE_ID = /^[0-9A-Za-z_-]+$/;

function pageOf(kind, id) {
  return PAGES[kind] && typeof id === "string" && SAFE_ID.test(id) ? PAGES[kind] + id : null;
}

/** The page of a point's record (the enterprise's page for an enterprise), or null for an unusable id. */
export function pointHref(point) {
  return pageOf(point.kind, point.id);
}

/** The page of the point's enterprise, or null for an unusable id. */
export function enterpriseHref(point) {
  return pageOf("enterprise", point.enterprise_id);
}

/** A server timestamp as the day it was in China (YYYY-MM-DD), or "" when missing or unreadable. */
export function formatDay(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? "" : DAY.format(when);
}

function label(labels, group, code) {
  return labels?.[group]?.[code] ?? code ?? "";
}

/** A text of the popups in the reader's language: the page hands them over (labels.ui); Chinese without it. */
const UI_ZH = {
  enterprise_link: "企业详情",
  inspection_link: "检查详情",
  hazard_link: "隐患详情",
  approximate: "未记录定位，显示于企业登记位置",
  deadline: "整改期限",
  listed: "挂牌督办",
  unlocated: "无坐标",
  overdue: "已逾期",
};

export function uiText(labels, key) {
  return labels?.ui?.[key] ?? UI_ZH[key] ?? key;
}

/** What a point's popup says, as plain text: { title, lines, overdue, links: [{ href, text }] }. */
export function popupContent(point, labels = {}) {
  const lines = [];
  const links = [];
  let title;
  if (point.kind === "enterprise") {
    title = point.enterprise_name;
    lines.push(label(labels, "kind", "enterprise"));
    links.push({ href: enterpriseHref(point), text: uiText(labels, "enterprise_link") });
  } else if (point.kind === "inspection") {
    title = `${label(labels, "kind", "inspection")} · ${label(labels, "inspection_kind", point.inspection_kind)}`;
    lines.push(point.enterprise_name);
    const day = formatDay(point.started_at);
    lines.push([label(labels, "status", point.status), day].filter(Boolean).join(" · "));
    if (point.approximate) lines.push(uiText(labels, "approximate"));
    links.push({ href: pointHref(point), text: uiText(labels, "inspection_link") });
    links.push({ href: enterpriseHref(point), text: uiText(labels, "enterprise_link") });
  } else {
    title = `${label(labels, "level", point.level)} · ${label(labels, "state", point.state)}`;
    lines.push(point.enterprise_name);
    if (point.place) lines.push(point.place);
    if (point.description) lines.push(point.description);
    if (point.deadline) lines.push(`${uiText(labels, "deadline")} ${point.deadline}`);
    if (point.listed) lines.push(uiText(labels, "listed"));
    links.push({ href: pointHref(point), text: uiText(labels, "hazard_link") });
    links.push({ href: enterpriseHref(point), text: uiText(labels, "enterprise_link") });
  }
  return { title: title ?? "", lines: lines.filter(Boolean), overdue: Boolean(point.overdue), links: links.filter((l) => l.href) };
}

/** One line of the 无坐标 list under the map. */
export function unlocatedEntry(point, labels = {}) {
  const what = point.kind === "enterprise" ? label(labels, "kind", "enterprise") : popupContent(point, labels).title;
  return {
    layer: layerOf(point),
    href: pointHref(point),
    text: `${what} · ${point.enterprise_name} · ${uiText(labels, "unlocated")}`,
  };
}

/** Everything the map draws: markers grouped by layer (in drawing order), the list of points without
 * coordinates and the bounds to fit. */
export function mapModel(points, labels = {}) {
  const { located, unlocated } = partition(points ?? []);
  /** @type {Record<string, Array<{point: object, latlng: number[], style: object}>>} */
  const markers = Object.fromEntries(LAYERS.map((layer) => [layer, []]));
  for (const point of located) {
    markers[layerOf(point)]?.push({ point, latlng: [point.lat, point.lon], style: pointStyle(point) });
  }
  return { markers, unlocated: unlocated.map((point) => unlocatedEntry(point, labels)), bounds: boundsOf(located) };
}

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for the few places Leaflet only takes HTML (the attribution line). */
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Grid steps in degrees the offline base map draws, finest first. */
const GRID_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/** The offline base map (no tile server configured, or none reachable): a latitude/longitude grid over
 * [[south, west], [north, east]] with about ``lines`` lines each way, at a round step in degrees. */
export function graticule(bounds, lines = 8) {
  const [[south, west], [north, east]] = bounds;
  const span = Math.max(north - south, east - west, 1e-6);
  const step = GRID_STEPS.find((s) => span / s <= lines) ?? GRID_STEPS[GRID_STEPS.length - 1];
  const ticks = (from, to) => {
    const out = [];
    // Rounded so that 0.1 steps do not drift into 35.300000000000004.
    for (let v = Math.ceil(from / step) * step; v <= to + 1e-9; v += step) out.push(Number(v.toFixed(6)));
    return out;
  };
  return { step, lats: ticks(Math.max(south, -85), Math.min(north, 85)), lons: ticks(west, east) };
}

/** Every colour pointStyle draws with (borders and fills), for the legend's test. */
export function styleColours() {
  const samples = [
    { kind: "enterprise" },
    ...Object.keys(INSPECTION_COLOURS).map((status) => ({ kind: "inspection", status })),
    { kind: "inspection", status: "submitted", approximate: true },
    ...["general", "major"].flatMap((level) => [false, true].map((overdue) => ({ kind: "hazard", level, overdue }))),
  ];
  return [...new Set(samples.flatMap((p) => [pointStyle(p).color, pointStyle(p).fillColor]))];
}

// Province scale: above a threshold the server answers clusters (count per grid cell and layer) for the
// visible box; the map asks again for each box and zoom it moves to.

/** The query string of /api/map/points for a view: its box [[south, west], [north, east]] (clamped to the
 * globe, 5 decimals) and its zoom (a whole number, which sets the server's cell size). */
export function boxQuery(bounds, zoom) {
  const [[south, west], [north, east]] = bounds;
  const clamp = (value, limit) => Math.min(limit, Math.max(-limit, value)).toFixed(5);
  const params = new URLSearchParams({
    south: clamp(south, 90), west: clamp(west, 180), north: clamp(north, 90), east: clamp(east, 180),
    zoom: String(Math.max(0, Math.min(22, Math.round(zoom)))),
  });
  return params.toString();
}

/** A cluster's counted circle: its CSS classes (the layer's colours, a dark ring when any is overdue), the
 * count it shows (thousands shortened), its size in pixels (growing with the count) and its plain-text title. */
export function clusterIcon(cluster, labels = {}) {
  const { layer, count, overdue } = cluster;
  const kind = layer === "hazard_major" || layer === "hazard_general" ? "hazard" : layer;
  const name = layer === "hazard_major" ? label(labels, "level", "major") : layer === "hazard_general" ? label(labels, "level", "general") : label(labels, "kind", kind);
  const text = count >= 10000 ? `${Math.round(count / 1000)}k` : String(count);
  const size = Math.round(22 + 8 * Math.log10(Math.max(1, count)));
  const title = overdue ? `${name} ${count} · ${uiText(labels, "overdue")} ${overdue}` : `${name} ${count}`;
  const className = `map-cluster map-cluster-${layer.replace("_", "-")}${overdue ? " map-cluster-overdue" : ""}`;
  return { className, text, size, title };
}

/** Pixels a layer's cluster is shifted by, so that a cell's enterprises, inspections and hazards (often at
 * the same enterprises) stand side by side instead of on top of each other. */
export function clusterOffset(layer) {
  const index = LAYERS.indexOf(layer);
  return index < 0 ? [0, 0] : [Math.round((index - (LAYERS.length - 1) / 2) * 14), 0];
}

/** The clusters by layer, in drawing order, with their icons. */
export function clusterModel(clusters, labels = {}) {
  /** @type {Record<string, Array<{cluster: object, latlng: number[], icon: ReturnType<typeof clusterIcon>, offset: number[]}>>} */
  const byLayer = Object.fromEntries(LAYERS.map((layer) => [layer, []]));
  for (const cluster of clusters ?? []) {
    if (!hasCoordinates(cluster)) continue;
    byLayer[cluster.layer]?.push({
      cluster, latlng: [cluster.lat, cluster.lon], icon: clusterIcon(cluster, labels), offset: clusterOffset(cluster.layer),
    });
  }
  return byLayer;
}
