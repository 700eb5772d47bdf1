import { describe, expect, it } from "vitest";
import { askPersistentStorage } from "../src/db/persistence.js";

describe("asking for persistent storage", () => {
  it("does not wait on a prompt that never answers (Firefox headless)", async () => {
    const started = Date.now();
    const granted = await askPersistentStorage({ persist: () => new Promise(() => {}) }, 50);
    expect(granted).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
  it("reports a grant, and a refusal, a throw or a missing API as not granted", async () => {
    expect(await askPersistentStorage({ persist: async () => true })).toBe(true);
    expect(await askPersistentStorage({ persist: async () => false })).toBe(false);
    expect(await askPersistentStorage({ persist: async () => { throw new Error("denied"); } })).toBe(false);
    expect(await askPersistentStorage({ persist: () => { throw new Error("sync throw"); } })).toBe(false);
    expect(await askPersistentStorage(undefined)).toBe(false);
  });
});
