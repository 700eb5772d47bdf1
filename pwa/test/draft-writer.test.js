import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";

import { createDraftWriter, DRAFT_WRITE_MS } from "../src/db/draft-writer.js";
import { openDatabase } from "../src/db/schema.js";
import { getDraft } from "../src/db/store.js";

describe("createDraftWriter (issue 15 item 3: every keystroke on disk within ~300 ms)", () => {
  it("writes the latest value of each key once per interval, well within 300 ms of the first keystroke", async () => {
    const db = await openDatabase(new IDBFactory());
    const timers = [];
    const writer = createDraftWriter(db, { setTimer: (fn, ms) => timers.push({ fn, ms }) && timers.length, clearTimer: () => {} });
    writer.keep("note:a", "泄");
    writer.keep("note:a", "泄爆");
    writer.keep("rep:i", "赵");
    expect(timers).toHaveLength(1); // one timer for a burst of keystrokes
    expect(timers[0].ms).toBe(DRAFT_WRITE_MS);
    expect(DRAFT_WRITE_MS).toBeLessThan(300);
    await timers[0].fn();
    expect(await getDraft(db, "note:a")).toBe("泄爆");
    expect(await getDraft(db, "rep:i")).toBe("赵");
    writer.keep("note:a", "泄爆口");
    expect(timers).toHaveLength(2); // the next keystroke starts the next interval
    await timers[1].fn();
    expect(await getDraft(db, "note:a")).toBe("泄爆口");
  });

  it("a cancelled value is never written, and flush writes what is pending at once", async () => {
    const db = await openDatabase(new IDBFactory());
    const writer = createDraftWriter(db, { setTimer: () => 1, clearTimer: () => {} });
    writer.keep("hazard:i:A-1", { description: "积尘" });
    writer.cancel("hazard:i:A-1"); // saved for real meanwhile
    writer.keep("rep:i", "赵德明");
    await writer.flush();
    expect(await getDraft(db, "hazard:i:A-1")).toBeUndefined();
    expect(await getDraft(db, "rep:i")).toBe("赵德明");
  });
});
