// The replica: what the server sent in pulls (rows of every entity the device may see) and the cursor the
// next pull resumes from. Written by the sync runner, read by the screens.
import { STORES } from "./schema.js";
import { atomically } from "./tx.js";

const { meta: META, replica: REPLICA } = STORES;

/**
 * A replicated row, shaped like a pull change.
 * @typedef {{entity: string, id: string, version: number, deleted: boolean, data: object | null}} ReplicaRow
 */

/**
 * Apply one pulled page and store its cursor in one transaction (clearing the replica first on reset).
 * @param {import("idb").IDBPDatabase} db
 * @param {{changes: Array<ReplicaRow>, cursor: string, reset?: boolean}} page
 * @returns {Promise<number>} how many changes were applied
 */
export function applyPullPage(db, { changes, cursor, reset = false }) {
  if (!Array.isArray(changes) || typeof cursor !== "string") return Promise.reject(new TypeError("a pull page needs changes and a cursor"));
  return atomically(db, [META, REPLICA], async (tx) => {
    const replica = tx.objectStore(REPLICA);
    // The outbox and the inspector's records are never touched by a reset: only what the server sends.
    if (reset) await replica.clear();
    for (const change of changes) {
      // Checked inside the transaction: throwing here aborts the whole page, cursor included.
      if (typeof change?.entity !== "string" || typeof change.id !== "string" || !Number.isInteger(change.version)) {
        throw new TypeError(`not a pull change: ${JSON.stringify(change)}`);
      }
      const deleted = Boolean(change.deleted);
      await replica.put({
        entity: change.entity,
        id: change.id,
        version: change.version,
        deleted,
        data: deleted ? null : (change.data ?? null),
      });
    }
    await tx.objectStore(META).put({ name: "cursor", value: cursor });
    return changes.length;
  });
}

/**
 * Drop every replicated row and the cursor (never the outbox): the next pull starts from zero.
 * @param {import("idb").IDBPDatabase} db
 */
export function resetReplica(db) {
  return atomically(db, [META, REPLICA], async (tx) => {
    await tx.objectStore(REPLICA).clear();
    await tx.objectStore(META).put({ name: "cursor", value: null });
  });
}

/**
 * The replicated rows of one entity (tombstones only when asked).
 * @param {import("idb").IDBPDatabase} db
 * @param {string} entity
 * @param {{includeDeleted?: boolean}} [options]
 * @returns {Promise<ReplicaRow[]>}
 */
export async function replicaList(db, entity, { includeDeleted = false } = {}) {
  const rows = await db.getAllFromIndex(REPLICA, "entity", entity);
  return includeDeleted ? rows : rows.filter((row) => !row.deleted);
}

/**
 * One replicated row (a tombstone included), or undefined.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} entity
 * @param {string} id
 * @returns {Promise<ReplicaRow | undefined>}
 */
export function replicaGet(db, entity, id) {
  return db.get(REPLICA, [entity, String(id)]);
}
