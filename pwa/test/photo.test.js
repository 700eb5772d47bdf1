import { describe, expect, it } from "vitest";
import { fittedSize, watermarkLines } from "../src/photo/encode.js";

describe("photo re-encoding rules", () => {
  it("scales the long edge to at most 2048 px and never up", () => {
    expect(fittedSize(4000, 3000)).toEqual({ width: 2048, height: 1536 });
    expect(fittedSize(3000, 4000)).toEqual({ width: 1536, height: 2048 });
    expect(fittedSize(800, 600)).toEqual({ width: 800, height: 600 });
  });
  it("burns in time, position with accuracy, and the enterprise; says so when there is no fix", () => {
    const at = new Date("2026-06-10T01:30:00Z");
    const lines = watermarkLines({ at, position: { lat: 38.46, lon: 111.12, accuracy: 8.4 }, enterpriseName: "兴县森宇木业有限公司" });
    expect(lines[1]).toBe("38.460000, 111.120000 ±8m");
    expect(lines[2]).toBe("兴县森宇木业有限公司");
    expect(watermarkLines({ at, position: null, enterpriseName: "x" })[1]).toContain("无定位");
  });
});

import { distanceM, positionWarning } from "../src/domain/geo.js";

describe("position checks for evidence", () => {
  const enterprise = { lat: 38.46, lon: 111.12 };
  const now = 1_000_000;
  it("measures like the server (about 111 km per degree of latitude)", () => {
    expect(Math.round(distanceM(38, 111, 39, 111) / 1000)).toBe(111);
  });
  it("warns when the fix is missing, poor, stale or far from the registered location", () => {
    expect(positionWarning(null, enterprise, { now })).toBe("missing");
    expect(positionWarning({ lat: 38.46, lon: 111.12, accuracy: 80, at: now }, enterprise, { now })).toBe("poor");
    expect(positionWarning({ lat: 38.46, lon: 111.12, accuracy: 8, at: now - 600000 }, enterprise, { now })).toBe("stale");
    expect(positionWarning({ lat: 38.50, lon: 111.12, accuracy: 8, at: now }, enterprise, { now })).toBe("far");
    expect(positionWarning({ lat: 38.4601, lon: 111.1201, accuracy: 8, at: now }, enterprise, { now })).toBeNull();
  });
});

import { canvasBlob, decodeImage, makeCanvas } from "../src/photo/encode.js";

describe("photo re-encoding where the engine lacks OffscreenCanvas or createImageBitmap options", () => {
  it("uses the page's canvas when there is no OffscreenCanvas", () => {
    const made = [];
    const canvas = makeCanvas(30, 20, (w, h) => { made.push([w, h]); return { w, h }; });
    expect(typeof OffscreenCanvas).toBe("undefined"); // Node, like an engine without it
    expect(made).toEqual([[30, 20]]);
    expect(canvas).toEqual({ w: 30, h: 20 });
    expect(() => makeCanvas(1, 1)).toThrow();
  });
  it("falls back to createImageBitmap without options, then to the page's image", async () => {
    const calls = [];
    globalThis.createImageBitmap = async (file, options) => {
      calls.push(options ?? null);
      if (options?.imageOrientation) throw new TypeError("imageOrientation not supported");
      return { width: 4, height: 3, close() {} };
    };
    try {
      const image = await decodeImage(new Blob(["x"]));
      expect(calls).toEqual([{ imageOrientation: "from-image" }, null]);
      expect([image.width, image.height]).toEqual([4, 3]);
      globalThis.createImageBitmap = async () => { throw new Error("cannot decode a Blob"); };
      const fromPage = await decodeImage(new Blob(["x"]), async () => ({ source: "img", width: 7, height: 5, close() {} }));
      expect([fromPage.source, fromPage.width]).toEqual(["img", 7]);
      await expect(decodeImage(new Blob(["x"]))).rejects.toThrow("cannot decode");
    } finally {
      delete globalThis.createImageBitmap;
    }
  });
  it("turns a page canvas into a Blob through toBlob", async () => {
    const canvas = { toBlob: (done, type, quality) => done(new Blob([`${type} ${quality}`])) };
    expect(await (await canvasBlob(canvas, "image/jpeg", 0.85)).text()).toBe("image/jpeg 0.85");
  });
});
