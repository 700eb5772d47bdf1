// The page's draft writer (see src/db/draft-writer.js), flushed when the page that typed goes away.
import { useEffect, useMemo } from "preact/hooks";
import { createDraftWriter } from "../db/draft-writer.js";

/** One draft writer per database for the life of the component. */
export function useDraftWriter(db) {
  const writer = useMemo(() => createDraftWriter(db), [db]);
  useEffect(() => () => { writer.flush(); }, [writer]);
  return writer;
}
