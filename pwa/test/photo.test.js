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
