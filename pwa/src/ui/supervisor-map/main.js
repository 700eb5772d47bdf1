// The supervisors' map page (server/web/templates/map.html): reads the page's data island, draws every point
// as a vector circle (so the page works with no tile server reachable) and wires the layer filters. When the
// scope is too large for single points (a province), the island holds clusters, and the map asks
// /api/map/points for the visible box at each move or zoom.
// Leaflet 1.9's package.json names only its UMD build; its ES module build is imported by path.
import * as L from "leaflet/dist/leaflet-src.esm.js";
import "leaflet/dist/leaflet.css";
import "./map.css";
import {
  boundsOf, boxQuery, clusterModel, escapeHtml, graticule, LAYERS, mapModel, popupContent, uiText,
} from "../../domain/mappoints.js";

// Roughly China, for a scope with no located point at all.
const FALLBACK_VIEW = { center: [35, 105], zoom: 4 };

function readData() {
  const island = document.getElementById("map-data");
  return island ? JSON.parse(island.textContent) : null;
}

function popupNode(point, labels) {
  const content = popupContent(point, labels);
  const node = document.createElement("div");
  node.className = "map-popup";
  const title = node.appendChild(document.createElement("strong"));
  title.textContent = content.title;
  for (const line of content.lines) node.appendChild(document.createElement("p")).textContent = line;
  if (content.overdue) {
    const overdue = node.appendChild(document.createElement("p"));
    overdue.className = "overdue";
    overdue.textContent = uiText(labels, "overdue");
  }
  const links = node.appendChild(document.createElement("p"));
  content.links.forEach(({ href, text }, index) => {
    if (index) links.append(" · ");
    const link = links.appendChild(document.createElement("a"));
    link.href = href;
    link.textContent = text;
  });
  return node;
}

function showBaseMapNote() {
  const note = document.getElementById("map-basemap-note");
  if (note) note.hidden = false;
}

// The offline base map: a latitude/longitude grid redrawn for the view, under the points (no server, no CDN).
function addGrid(map) {
  const grid = L.layerGroup().addTo(map);
  const style = { color: "#9aa5b1", weight: 1, opacity: 0.7, interactive: false };
  const draw = () => {
    const b = map.getBounds();
    const { lats, lons } = graticule([[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]]);
    grid.clearLayers();
    for (const lat of lats) grid.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
    for (const lon of lons) grid.addLayer(L.polyline([[b.getSouth(), lon], [b.getNorth(), lon]], style));
  };
  map.on("moveend", draw);
  map.whenReady(draw);
}

function addTiles(map, tiles) {
  if (!tiles?.url) {
    showBaseMapNote();
    addGrid(map);
    return;
  }
  const layer = L.tileLayer(tiles.url, { maxZoom: 18, attribution: escapeHtml(tiles.attribution) });
  // Offline, blocked or wrong URL: the points stay on the grid, and the page says why.
  let failed = false;
  layer.on("tileerror", () => {
    showBaseMapNote();
    if (!failed) addGrid(map);
    failed = true;
  });
  layer.addTo(map);
}

function renderUnlocated(entries) {
  const section = document.getElementById("map-unlocated");
  const list = document.getElementById("map-unlocated-list");
  if (!section || !list) return () => {};
  const items = entries.map((entry) => {
    const item = document.createElement("li");
    item.dataset.layer = entry.layer;
    if (entry.href) {
      const link = item.appendChild(document.createElement("a"));
      link.href = entry.href;
      link.textContent = entry.text;
    } else {
      item.textContent = entry.text;
    }
    return item;
  });
  list.replaceChildren(...items);
  return (visible) => {
    let shown = 0;
    for (const item of items) {
      item.hidden = !visible.has(item.dataset.layer);
      if (!item.hidden) shown += 1;
    }
    section.hidden = shown === 0;
  };
}

function wireFilters(map, groups, showUnlocated) {
  const boxes = [.../** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll('#map-filters input[name="layer"]'))];
  const apply = () => {
    // A map without filters (an enterprise page's) shows every layer.
    const visible = boxes.length ? new Set(boxes.filter((box) => box.checked).map((box) => box.value)) : new Set(LAYERS);
    // The canvas paints in the order layers were added: re-adding all keeps hazards above enterprises.
    for (const layer of LAYERS) groups[layer].remove();
    for (const layer of LAYERS) if (visible.has(layer)) groups[layer].addTo(map);
    showUnlocated(visible);
  };
  for (const box of boxes) box.addEventListener("change", apply);
  apply();
}

// Fills each layer's group with the points and the counted clusters of one answer of /api/map/points.
function fill(groups, data, labels) {
  const model = mapModel(data.points, labels);
  const clusters = clusterModel(data.clusters, labels);
  for (const layer of LAYERS) {
    const group = groups[layer];
    group.clearLayers();
    for (const { point, latlng, style } of model.markers[layer]) {
      group.addLayer(L.circleMarker(latlng, style).bindPopup(() => popupNode(point, labels)));
    }
    for (const { latlng, icon, offset } of clusters[layer]) {
      const half = icon.size / 2;
      const divIcon = L.divIcon({
        className: icon.className, html: icon.text, iconSize: [icon.size, icon.size],
        iconAnchor: [half - offset[0], half - offset[1]],
      });
      group.addLayer(L.marker(latlng, { icon: divIcon, title: icon.title, keyboard: false }));
    }
  }
  return model;
}

// A clustered map asks for what it shows after each move or zoom; an older answer never replaces a newer one.
function followView(map, groups, labels) {
  let controller = null;
  let timer = 0;
  const load = async () => {
    controller?.abort();
    controller = new AbortController();
    const b = map.getBounds();
    const query = boxQuery([[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]], map.getZoom());
    try {
      const reply = await fetch(`/api/map/points?${query}`, {
        credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal,
      });
      if (reply.ok) fill(groups, await reply.json(), labels);
    } catch (error) {
      // Aborted by a newer move, or offline: the map keeps what it drew last.
      if (!(error instanceof DOMException && error.name === "AbortError")) console.warn("map points", error);
    }
  };
  map.on("moveend", () => {
    clearTimeout(timer);
    timer = window.setTimeout(load, 150);
  });
}

function start() {
  const data = readData();
  const panel = document.getElementById("map-panel");
  if (!data || !panel) return;
  panel.hidden = false;
  const labels = data.labels ?? {};
  // Canvas draws thousands of circles far faster than one SVG element each.
  const map = L.map("map", { preferCanvas: true, attributionControl: Boolean(data.tiles?.url) });
  if (map.attributionControl) map.attributionControl.setPrefix("Leaflet");
  addTiles(map, data.tiles);
  const groups = {};
  for (const layer of LAYERS) groups[layer] = L.featureGroup();
  const model = fill(groups, data, labels);
  // The island's points without coordinates stay listed: a box's answer holds located points only.
  wireFilters(map, groups, renderUnlocated(model.unlocated));
  if (data.clustered) followView(map, groups, labels);
  const bounds = model.bounds ?? boundsOf(data.clusters ?? []);
  if (bounds) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
  else map.setView(FALLBACK_VIEW.center, FALLBACK_VIEW.zoom);
}

start();
