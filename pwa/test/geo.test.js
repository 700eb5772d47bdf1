import { describe, expect, it } from "vitest";
import { positionFields } from "../src/domain/geo.js";

describe("positionFields", () => {
  const now = 1_800_000_000_000;
  it("gives the start or end fields of a fresh fix", () => {
    expect(positionFields({ lat: 38.49, lon: 111.12, accuracy: 12, at: now - 5000 }, "start", { now })).toEqual({
      start_lat: 38.49, start_lon: 111.12, start_accuracy_m: 12,
    });
    expect(positionFields({ lat: 38.49, lon: 111.12, accuracy: 0, at: now }, "end", { now })).toEqual({
      end_lat: 38.49, end_lon: 111.12, end_accuracy_m: null,
    });
  });
  it("gives nothing without a fix or with a stale one", () => {
    expect(positionFields(null, "start", { now })).toEqual({});
    expect(positionFields({ lat: Number.NaN, lon: 1, at: now }, "start", { now })).toEqual({});
    expect(positionFields({ lat: 38.49, lon: 111.12, accuracy: 5, at: now - 300000 }, "end", { now })).toEqual({});
  });
});
