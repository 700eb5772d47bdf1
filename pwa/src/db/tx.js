// The transaction helpers the store's modules share (not part of the store's API).
import { STORES } from "./schema.js";

/**
 * Run `work` in one readwrite transaction over `stores`: all of its writes commit, or none do. A request that
 * throws synchronously (a bad key, say) does not abort an IndexedDB transaction by itself: without the explicit
 * abort, the writes made before it would commit.
 * @template T
 * @param {import("idb").IDBPDatabase} db
 * @param {string[]} stores
 * @param {(tx: import("idb").IDBPTransaction<any, any, "readwrite">) => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function atomically(db, stores, work) {
  const tx = db.transaction(stores, "readwrite");
  try {
    const result = await work(tx);
    await tx.done;
    return result;
  } catch (error) {
    abortQuietly(tx);
    await tx.done.catch(() => {});
    throw error;
  }
}

/**
 * A meta value read inside an open transaction (which must cover the meta store).
 * @param {import("idb").IDBPTransaction<any, any, any>} tx
 * @param {string} name
 * @param {*} fallback
 */
export async function metaIn(tx, name, fallback) {
  const row = await tx.objectStore(STORES.meta).get(name);
  return row === undefined ? fallback : row.value;
}

function abortQuietly(tx) {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted by the failed request itself.
  }
}
