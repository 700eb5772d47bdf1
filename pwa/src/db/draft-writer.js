// Typing kept as it happens (issue 15 item 3): values written to the drafts store at most `delayMs` after a
// keystroke, so an app killed mid-sentence loses nothing, while typing never waits for the disk.
import { putDraft } from "./store.js";

/** Interval between draft writes while typing; the bound asked for is ~300 ms from keystroke to disk. */
export const DRAFT_WRITE_MS = 200;

/**
 * A writer of drafts: `keep(key, value)` starts one timer if none runs; when it fires, the latest value of
 * every key kept meanwhile is written. `cancel(key)` drops a pending value (it was just saved for real).
 * @param {import("idb").IDBPDatabase} db
 * @param {{delayMs?: number, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} [options]
 */
export function createDraftWriter(db, { delayMs = DRAFT_WRITE_MS, setTimer = setTimeout, clearTimer = clearTimeout } = {}) {
  const pending = new Map();
  let timer = null;
  const flush = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
    const entries = [...pending];
    pending.clear();
    return Promise.all(entries.map(([key, value]) => putDraft(db, key, value)));
  };
  return {
    keep(key, value) {
      pending.set(key, value);
      if (timer === null) timer = setTimer(flush, delayMs);
    },
    cancel(key) {
      pending.delete(key);
    },
    /** Write what is pending now (the page is going away). */
    flush,
  };
}
