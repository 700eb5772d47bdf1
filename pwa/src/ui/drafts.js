// Typing kept as it happens: a value written to the drafts store at most ~200 ms after a keystroke, so an app
// killed mid-sentence loses nothing (issue 15 item 3).
import { useEffect, useRef } from "preact/hooks";
import { putDraft } from "../db/store.js";

/** Interval between draft writes while typing; the brief's bound is ~300 ms from keystroke to disk. */
export const DRAFT_WRITE_MS = 200;

/**
 * A function that keeps `value` under `key`: the first call starts a ~200 ms timer, later calls only update
 * what the timer writes, so typing never waits for the disk and the last keystroke is always written.
 * @param {import("idb").IDBPDatabase} db
 */
export function useDraftWriter(db) {
  const pending = useRef(new Map());
  const timer = useRef(null);
  const flush = () => {
    timer.current = null;
    const entries = [...pending.current];
    pending.current.clear();
    return Promise.all(entries.map(([key, value]) => putDraft(db, key, value)));
  };
  useEffect(() => () => {
    if (timer.current) {
      clearTimeout(timer.current);
      flush();
    }
  }, [db]);
  return {
    keep(key, value) {
      pending.current.set(key, value);
      if (!timer.current) timer.current = setTimeout(flush, DRAFT_WRITE_MS);
    },
    /** Drop a pending write (the value was just saved for real, or discarded). */
    cancel(key) {
      pending.current.delete(key);
    },
  };
}
