import { describe, expect, it } from "vitest";
import {
  boundsOf, boxQuery, clusterIcon, clusterModel, clusterOffset, escapeHtml, formatDay, hasCoordinates, layerOf, LAYERS, mapModel, partition, pointHref, pointStyle,
  popupContent, uiText, unlocatedEntry,
} from "../src/domain/mappoints.js";

const E = "6f1c1f9e-7d0a-4c43-9a55-3c1a3f6b2f10";
const enterprise = { kind: "enterprise", id: E, enterprise_id: E, enterprise_name: "兴县晋兴特钢有限公司", lat: 38.47, lon: 111.12, approximate: false };
const inspection = {
  kind: "inspection", id: "1d4c2a0b-0c57-4d8e-9b0e-1a2b3c4d5e6f", enterprise_id: E, enterprise_name: "兴县晋兴特钢有限公司",
  lat: 38.48, lon: 111.1, approximate: false, inspection_kind: "county", status: "approved", started_at: "2026-06-10T17:30:00+00:00",
};
const hazard = {
  kind: "hazard", id: "9b1f0e2d-3c4b-4a59-8d7e-6f5a4b3c2d1e", enterprise_id: E, enterprise_name: "兴县晋兴特钢有限公司",
  lat: 38.47, lon: 111.12, approximate: false, level: "major", state: "found", overdue: true, listed: true,
  deadline: "2026-06-30", place: "1号高炉主控室", description: "未设置固定式一氧化碳监测报警装置",
};
const labels = {
  kind: { enterprise: "企业", inspection: "检查", hazard: "隐患" },
  inspection_kind: { county: "县级全覆盖检查" },
  status: { approved: "已审核通过" },
  level: { major: "重大事故隐患", general: "一般事故隐患" },
  state: { found: "待整改" },
};

describe("layers and styles", () => {
  it("puts hazards in a layer by level, everything else by kind", () => {
    expect(layerOf(enterprise)).toBe("enterprise");
    expect(layerOf(inspection)).toBe("inspection");
    expect(layerOf(hazard)).toBe("hazard_major");
    expect(layerOf({ ...hazard, level: "general" })).toBe("hazard_general");
    expect(LAYERS).toEqual(["enterprise", "inspection", "hazard_general", "hazard_major"]);
  });
  it("colours inspections by status and dashes the ones drawn at the enterprise", () => {
    const approved = pointStyle(inspection);
    const returned = pointStyle({ ...inspection, status: "returned" });
    expect(approved.fillColor).not.toBe(returned.fillColor);
    expect(approved.dashArray).toBeNull();
    const approximate = pointStyle({ ...inspection, approximate: true });
    expect(approximate.dashArray).toBeTruthy();
    expect(approximate.fillOpacity).toBeLessThan(approved.fillOpacity);
    expect(pointStyle({ ...inspection, status: "unheard-of" }).fillColor).toBeTruthy();
  });
  it("tells major from general hazards and marks overdue ones with a thick border", () => {
    const major = pointStyle(hazard);
    const general = pointStyle({ ...hazard, level: "general", overdue: false });
    expect(major.fillColor).not.toBe(general.fillColor);
    expect(major.weight).toBeGreaterThan(general.weight);
  });
  it("draws smaller circles on top of larger ones, so that points at one enterprise stay visible", () => {
    const radii = [enterprise, inspection, { ...hazard, level: "general" }, hazard].map((p) => pointStyle(p).radius);
    expect(radii[0]).toBeGreaterThan(radii[1]);
    expect(radii[1]).toBeGreaterThan(radii[2]);
  });
});

describe("coordinates", () => {
  it("accepts finite WGS-84 coordinates only, and not a tablet's 0,0", () => {
    expect(hasCoordinates(enterprise)).toBe(true);
    for (const bad of [{ lat: null, lon: 111 }, { lat: 38, lon: undefined }, { lat: NaN, lon: 111 }, { lat: "38", lon: "111" },
      { lat: 91, lon: 111 }, { lat: 38, lon: 181 }, { lat: 0, lon: 0 }, {}, null]) {
      expect(hasCoordinates(bad)).toBe(false);
    }
    expect(hasCoordinates({ lat: 0, lon: 111 })).toBe(true);
  });
  it("keeps points without coordinates for the 无坐标 list instead of dropping them", () => {
    const lost = { ...hazard, id: "x", lat: null, lon: null };
    const { located, unlocated } = partition([enterprise, lost, inspection]);
    expect(located).toEqual([enterprise, inspection]);
    expect(unlocated).toEqual([lost]);
    const entry = unlocatedEntry(lost, labels);
    expect(entry.text).toContain("无坐标");
    expect(entry.text).toContain("兴县晋兴特钢有限公司");
    expect(entry.href).toBe("/hazards/x");
    expect(entry.layer).toBe("hazard_major");
  });
  it("fits the bounds of the located points, or none when nothing has coordinates", () => {
    expect(boundsOf([enterprise, inspection, { ...hazard, lat: null }])).toEqual([[38.47, 111.1], [38.48, 111.12]]);
    expect(boundsOf([enterprise])).toEqual([[38.47, 111.12], [38.47, 111.12]]);
    expect(boundsOf([{ ...enterprise, lat: null }])).toBeNull();
    expect(boundsOf([])).toBeNull();
  });
});

describe("popups and links", () => {
  it("links each point to its page", () => {
    expect(pointHref(enterprise)).toBe(`/enterprises/${E}`);
    expect(pointHref(inspection)).toBe(`/inspections/${inspection.id}`);
    expect(pointHref(hazard)).toBe(`/hazards/${hazard.id}`);
    expect(popupContent(hazard, labels).links.map((l) => l.href)).toEqual([`/hazards/${hazard.id}`, `/enterprises/${E}`]);
  });
  it("never links an id that could leave the record's page", () => {
    for (const id of ["..", ".", "", "../../admin", "javascript:alert(1)", "a/b", "%2e%2e", null]) {
      expect(pointHref({ ...inspection, id })).toBeNull();
    }
    const odd = popupContent({ ...hazard, id: "..", enterprise_id: "../x" }, labels);
    expect(odd.links).toEqual([]);
  });
  it("says what a hazard is in plain text, user text kept as text", () => {
    const content = popupContent({ ...hazard, description: "<img src=x onerror=alert(1)>" }, labels);
    expect(content.title).toBe("重大事故隐患 · 待整改");
    expect(content.lines).toContain("<img src=x onerror=alert(1)>");
    expect(content.lines).toContain("1号高炉主控室");
    expect(content.lines.some((l) => l.includes("2026-06-30"))).toBe(true);
    expect(content.overdue).toBe(true);
  });
  it("gives an inspection's kind, status and day in China, and says when it is drawn at the enterprise", () => {
    const content = popupContent({ ...inspection, approximate: true }, labels);
    expect(content.title).toBe("检查 · 县级全覆盖检查");
    expect(content.lines).toContain("已审核通过 · 2026-06-11");
    expect(content.lines.some((l) => l.includes("企业登记位置"))).toBe(true);
    expect(popupContent(inspection, {}).title).toBe("inspection · county");
  });
  it("says everything in one language: the page's texts when it hands them over, else Chinese alone", () => {
    const english = { ...labels, ui: { deadline: "Deadline", listed: "Listed for supervision", hazard_link: "Hazard", enterprise_link: "Enterprise", unlocated: "no coordinates" } };
    const content = popupContent(hazard, english);
    expect(content.lines).toContain("Deadline 2026-06-30");
    expect(content.lines).toContain("Listed for supervision");
    expect(content.links.map((l) => l.text)).toEqual(["Hazard", "Enterprise"]);
    expect(unlocatedEntry({ ...enterprise, lat: null, lon: null }, english).text).toMatch(/no coordinates$/);
    const chinese = popupContent(hazard, labels);
    expect(chinese.lines).toContain("整改期限 2026-06-30");
    expect(chinese.links.map((l) => l.text)).toEqual(["隐患详情", "企业详情"]);
    for (const text of [...chinese.lines, ...chinese.links.map((l) => l.text)]) expect(text).not.toMatch(/ \/ [A-Za-z]/);
    expect(uiText({}, "overdue")).toBe("已逾期");
  });
  it("reads days in China's calendar and tolerates missing or broken times", () => {
    expect(formatDay("2026-06-10T15:59:00Z")).toBe("2026-06-10");
    expect(formatDay("2026-06-10T16:00:00Z")).toBe("2026-06-11");
    expect(formatDay(null)).toBe("");
    expect(formatDay("not a time")).toBe("");
  });
  it("escapes text for the places Leaflet only takes HTML", () => {
    expect(escapeHtml(`<a href="x">© O'SM & co</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;© O&#39;SM &amp; co&lt;/a&gt;");
    expect(escapeHtml(undefined)).toBe("");
  });
});

describe("the whole model", () => {
  it("groups located points by layer with their style, lists the rest and fits the located ones", () => {
    const lost = { ...inspection, id: "lost", lat: null, lon: null };
    const model = mapModel([enterprise, inspection, hazard, { ...hazard, id: "g", level: "general" }, lost], labels);
    expect(Object.keys(model.markers)).toEqual(LAYERS);
    expect(model.markers.enterprise).toHaveLength(1);
    expect(model.markers.inspection.map((m) => m.point.id)).toEqual([inspection.id]);
    expect(model.markers.hazard_major[0].latlng).toEqual([38.47, 111.12]);
    expect(model.markers.hazard_general[0].style.fillColor).toBe(pointStyle({ ...hazard, level: "general" }).fillColor);
    expect(model.unlocated.map((u) => u.href)).toEqual(["/inspections/lost"]);
    expect(model.bounds).toEqual([[38.47, 111.1], [38.48, 111.12]]);
    expect(mapModel(undefined).bounds).toBeNull();
  });
});

describe("the offline base map and the legend", () => {
  it("draws a grid at a round step with a handful of lines over a county", async () => {
    const { graticule } = await import("../src/domain/mappoints.js");
    const grid = graticule([[38.3, 110.9], [38.9, 111.6]]);
    expect(grid.step).toBe(0.1);
    expect(grid.lats[0]).toBe(38.3);
    expect(grid.lats.at(-1)).toBe(38.9);
    expect(grid.lons.length).toBeGreaterThanOrEqual(6);
    expect(grid.lons.length).toBeLessThanOrEqual(8);
    for (const lon of grid.lons) expect(Number.isInteger(Math.round(lon * 10)) && Math.abs(lon * 10 - Math.round(lon * 10)) < 1e-9).toBe(true);
  });

  it("has a legend swatch in map.css for every colour a point is drawn with", async () => {
    const { styleColours } = await import("../src/domain/mappoints.js");
    const { readFileSync } = await import("node:fs");
    const css = readFileSync(new URL("../src/ui/supervisor-map/map.css", import.meta.url), "utf8").toLowerCase();
    const swatchRules = css.split("\n").filter((line) => line.startsWith(".swatch-")).join("\n");
    const colours = styleColours().map((c) => c.toLowerCase());
    expect(colours.length).toBeGreaterThanOrEqual(10);
    const missing = colours.filter((c) => !swatchRules.includes(c === "#ffffff" ? "#fff" : c));
    expect(missing).toEqual([]);
  });
});

describe("clusters of a province's map", () => {
  it("asks for the visible box and a whole zoom, clamped to the globe", () => {
    const query = new URLSearchParams(boxQuery([[38.123456789, 110.9], [38.9, 111.5]], 9.6));
    expect(Object.fromEntries(query)).toEqual({ south: "38.12346", west: "110.90000", north: "38.90000", east: "111.50000", zoom: "10" });
    const world = new URLSearchParams(boxQuery([[-120, -400], [95, 500]], 0));
    expect([world.get("south"), world.get("west"), world.get("north"), world.get("east")]).toEqual(["-90.00000", "-180.00000", "90.00000", "180.00000"]);
  });

  it("draws a cluster in its layer's colours with its count, and rings it when any hazard is overdue", () => {
    const major = clusterIcon({ layer: "hazard_major", lat: 38.4, lon: 111.1, count: 1302, overdue: 85 }, { ...labels, ui: { overdue: "Overdue" } });
    expect(major.className).toBe("map-cluster map-cluster-hazard-major map-cluster-overdue");
    expect(major.text).toBe("1302");
    expect(major.title).toBe("重大事故隐患 1302 · Overdue 85");
    const many = clusterIcon({ layer: "enterprise", lat: 38.4, lon: 111.1, count: 20151, overdue: 0 }, labels);
    expect(many).toMatchObject({ className: "map-cluster map-cluster-enterprise", text: "20k", title: "企业 20151" });
    expect(many.size).toBeGreaterThan(major.size);
  });

  it("groups clusters by layer, skips any without coordinates and sets a cell's layers side by side", () => {
    const byLayer = clusterModel([
      { layer: "enterprise", lat: 38.4, lon: 111.1, count: 3, overdue: 0 },
      { layer: "hazard_general", lat: 38.4, lon: 111.1, count: 5, overdue: 2 },
      { layer: "inspection", lat: null, lon: null, count: 1, overdue: 0 },
    ], labels);
    expect(Object.keys(byLayer)).toEqual(LAYERS);
    expect(byLayer.enterprise.map((c) => c.latlng)).toEqual([[38.4, 111.1]]);
    expect(byLayer.inspection).toEqual([]);
    expect(byLayer.hazard_general[0].icon.className).toContain("map-cluster-overdue");
    const offsets = LAYERS.map((layer) => clusterOffset(layer)[0]);
    expect(new Set(offsets).size).toBe(LAYERS.length);
  });

  it("keeps a county's island as before: no clusters, every point a marker", () => {
    const model = mapModel([enterprise, inspection, hazard], labels);
    expect(LAYERS.reduce((n, layer) => n + model.markers[layer].length, 0)).toBe(3);
    expect(clusterModel(undefined, labels).enterprise).toEqual([]);
  });
});
