import { describe, expect, it } from "vitest";
import { centreRegion, localContrast, luminance, PASSES, readFrame } from "../src/scan/passes.js";

const frame = (width, height, fill = 128) => ({ data: new Uint8ClampedArray(width * height * 4).fill(fill), width, height });

describe("reading a frame in passes", () => {
  it("tries the frame as it is first, then variants while the budget lasts, and says where to carry on", async () => {
    let clock = 0;
    const seen = [];
    const read = async (pixels) => { seen.push([pixels.width, pixels.height]); clock += 100; return []; };
    const out = await readFrame(frame(40, 30), read, { budgetMs: 250, start: 1, now: () => clock });
    expect(out).toMatchObject({ text: null, tried: 3, next: 3 });
    expect(seen[0]).toEqual([40, 30]); // the camera's frame itself
    expect(seen[1]).toEqual([40, 30]); // centre half, doubled
    // The next frame starts where this one stopped, so every variant gets its turn.
    seen.length = 0;
    const again = await readFrame(frame(40, 30), read, { budgetMs: 250, start: out.next, now: () => clock });
    expect(again.next).toBe(5);
  });
  it("on a device too slow for the budget, still tries one variant per frame, so every variant gets its turn", async () => {
    // The frame as it is takes longer than the whole budget (a cheap tablet, a loaded phone): before, no
    // variant ever ran and a code only a variant reads was never read.
    let clock = 0;
    const names = [];
    const read = async (pixels, options) => { clock += 500; names.push(options.binarizer); return []; };
    let start = 1;
    const tried = new Set();
    for (let frameNo = 0; frameNo < PASSES.length - 1; frameNo += 1) {
      const out = await readFrame(frame(40, 30), read, { budgetMs: 300, start, now: () => clock });
      expect(out.tried).toBe(2);
      tried.add(start);
      start = out.next;
    }
    expect([...tried].sort((a, b) => a - b)).toEqual(PASSES.slice(1).map((_, i) => i + 1));
    expect(start).toBe(1); // round again
    expect(names).toContain("GlobalHistogram"); // the last variant was reached
  });
  it("with no budget is one pass (the baseline), and stops at the first valid code", async () => {
    let calls = 0;
    const miss = async () => { calls += 1; return [{ isValid: false, text: "x" }]; };
    expect((await readFrame(frame(8, 8), miss, { budgetMs: 0 })).tried).toBe(1);
    expect(calls).toBe(1);
    let n = 0;
    const second = async () => (++n === 2 ? [{ isValid: true, text: "https://x/q/1/..." }] : []);
    const found = await readFrame(frame(8, 8), second, { budgetMs: 10_000 });
    expect(found).toMatchObject({ text: "https://x/q/1/...", pass: PASSES[1].name, tried: 2 });
  });
});

describe("the variants' pixels", () => {
  it("enlarges the centre", () => {
    const gray = { gray: Uint8Array.from({ length: 16 }, (_, i) => i * 10), width: 4, height: 4 };
    const centre = centreRegion(gray, 0.5, 2);
    expect([centre.width, centre.height]).toEqual([4, 4]);
    expect(Math.min(...centre.gray)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...centre.gray)).toBeLessThanOrEqual(100);
  });
  it("restores full contrast to a washed-out patch, not to flat paper", () => {
    const width = 80;
    const gray = new Uint8Array(width * 40).fill(240);
    for (let x = 0; x < 40; x += 2) for (let y = 0; y < 40; y += 1) gray[y * width + x] = 215; // a glare-faded code
    const out = localContrast({ gray, width, height: 40 }).gray;
    const code = [...out.slice(10 * width, 10 * width + 20)];
    expect(Math.max(...code) - Math.min(...code)).toBeGreaterThan(200);
    const flat = localContrast({ gray: new Uint8Array(1600).fill(200), width: 40, height: 40 }).gray;
    expect(new Set(flat).size).toBe(1);
  });
  it("computes luminance as zxing-cpp does", () => {
    const rgba = { data: Uint8ClampedArray.from([255, 0, 0, 255, 0, 255, 0, 255]), width: 2, height: 1 };
    expect([...luminance(rgba).gray]).toEqual([76, 150]);
  });
});
