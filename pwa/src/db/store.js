// The local-first write path and the sync bookkeeping on top of the IndexedDB schema (DESIGN §4): meta,
// saved records with their outbox mutations, drafts, the outbox. The replica (replica.js) and photo bytes
// (blobs.js) are re-exported from here, so the app has one store to import from.
// Every function takes the open database first, so tabs, tests and the service worker share one code path.

import { emptyBlobRow, photoSha } from "./blobs.js";
import { STORES } from "./schema.js";
import { atomically, metaIn } from "./tx.js";

export {
  blobsToRelease, blobsToUpload, deleteUploadedBlobBytes, discardBlobIfUnused, getBlobBytes, getBlobInfo, LOCAL_BLOB_CHANGED,
  markBlobNotHeld, markBlobRejected, markBlobUploaded, noteBlobFailure, putBlob, releaseBlobsAckedUpTo, sha256Hex,
} from "./blobs.js";
export { applyPullPage, replicaGet, replicaList, resetReplica } from "./replica.js";

const { meta: META, outbox: OUTBOX, replica: REPLICA, records: RECORDS, blobs: BLOBS, drafts: DRAFTS } = STORES;

// What the server's MutationSchema accepts; checked here because one malformed entry in the outbox would
// make the server refuse every batch that carries it, and outbox entries cannot be edited afterwards.
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AWARE_TIME_RE = /(Z|[+-]\d{2}:?\d{2})$/;
const OPS = new Set(["upsert", "delete"]);

/**
 * A mutation as it travels in a push.
 * @typedef {{seq: number, entity: string, id: string, op: "upsert" | "delete", base_version: number | null, data: object, at: string}} Mutation
 */

/**
 * The app's own copy of an entity as the inspector edited it.
 * @typedef {{entity: string, id: string, data: object, deleted: boolean, seq: number, updatedAt: string}} LocalRecord
 */

/**
 * How the last sync failed, as meta "lastError" keeps it (src/sync/runner.js: describeError makes it).
 * @typedef {{code: string, status: number | null, message: string, message_en: string, messages: {"zh-CN": string, en: string}, detail: string | null, reauth: boolean, offline: boolean, at: string}} SyncFailure
 */

/**
 * What storageSummary reports.
 * @typedef {{pendingMutations: number, pendingBlobs: number, pendingBlobBytes: number, rejectedBlobs: number, lastSync: string | null, lastError: SyncFailure | null}} StorageSummary
 */

// --- meta ---------------------------------------------------------------------------------------------

/**
 * Read a named value from the meta store.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} name
 * @param {*} [fallback] returned when the value was never set
 */
export async function getMeta(db, name, fallback = undefined) {
  const row = await db.get(META, name);
  return row === undefined ? fallback : row.value;
}

/**
 * Write a named value to the meta store.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} name
 * @param {*} value anything structured-cloneable (CryptoKeys included)
 */
export async function setMeta(db, name, value) {
  await db.put(META, { name, value });
}

/**
 * Begin numbering for a new device id (another user signed in on this tablet): seq restarts at 1, the
 * replica and cursor are dropped. Refused while the outbox holds anything, since those entries are
 * numbered for the old device; done in one transaction so no save can slip in between check and reset.
 * @param {import("idb").IDBPDatabase} db
 * @param {{id: string, user?: object | null}} device
 */
export function startNewDevice(db, { id, user = null }) {
  return atomically(db, [META, OUTBOX, REPLICA], async (tx) => {
    const pending = await tx.objectStore(OUTBOX).count();
    if (pending > 0) {
      const error = Object.assign(new Error(`${pending} outbox entries are numbered for the previous device`), { pending });
      throw error;
    }
    const meta = tx.objectStore(META);
    await meta.put({ name: "device", value: { id, token: null, user } });
    await meta.put({ name: "nextSeq", value: 1 });
    await meta.put({ name: "ackedSeq", value: 0 });
    await meta.put({ name: "cursor", value: null });
    await tx.objectStore(REPLICA).clear();
  });
}

// --- the write path -----------------------------------------------------------------------------------

/**
 * Save a local edit: the record and its outbox mutation are written in one transaction, or neither is.
 * For an upsert the record's data is merged with `data`; the mutation carries `data` as given (a patch).
 * @param {import("idb").IDBPDatabase} db
 * @param {string} entity e.g. "inspection", "item_result", "hazard", "photo"
 * @param {string} id a UUID made on the device
 * @param {object} data JSON-serialisable fields (Dates become ISO strings)
 * @param {{op?: "upsert" | "delete", at?: Date | string, baseVersion?: number | null, clearDraft?: string | null}} [options]
 *   clearDraft: the key of a draft this save makes obsolete, removed in the same transaction
 * @returns {Promise<{seq: number, record: LocalRecord, mutation: Mutation}>}
 */
export async function saveRecord(db, entity, id, data, { op = "upsert", at = new Date(), baseVersion = null, clearDraft = null } = {}) {
  if (typeof entity !== "string" || entity.length < 1 || entity.length > 32) {
    throw new TypeError(`entity must be a name of 1 to 32 characters, got ${JSON.stringify(entity)}`);
  }
  if (typeof id !== "string" || !UUID_RE.test(id)) throw new TypeError(`id must be a UUID, got ${JSON.stringify(id)}`);
  if (!OPS.has(op)) throw new TypeError(`op must be "upsert" or "delete", got ${JSON.stringify(op)}`);
  if (baseVersion !== null && !Number.isInteger(baseVersion)) throw new TypeError("baseVersion must be an integer or null");
  const frozen = freezeData(data ?? {});
  const when = awareTime(at);

  return atomically(db, clearDraft ? [META, OUTBOX, RECORDS, DRAFTS] : [META, OUTBOX, RECORDS], async (tx) => {
    if (clearDraft) await tx.objectStore(DRAFTS).delete(clearDraft);
    // Read inside the readwrite transaction: IndexedDB serialises overlapping readwrite transactions,
    // so two tabs saving at once still get consecutive seqs.
    const seq = await metaIn(tx, "nextSeq", 1);
    const records = tx.objectStore(RECORDS);
    const previous = await records.get([entity, id]);
    const record = {
      entity,
      id,
      data: op === "upsert" ? { ...(previous?.data ?? {}), ...frozen } : (previous?.data ?? {}),
      deleted: op === "delete",
      seq,
      updatedAt: when,
    };
    await records.put(record);
    const mutation = { seq, entity, id, op, base_version: baseVersion, data: frozen, at: when };
    // add, not put: an existing entry at this seq is frozen, so the whole save (record included) fails.
    await tx.objectStore(OUTBOX).add(mutation);
    await tx.objectStore(META).put({ name: "nextSeq", value: seq + 1 });
    return { seq, record, mutation };
  });
}

/**
 * One local record, or undefined.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} entity
 * @param {string} id
 * @returns {Promise<LocalRecord | undefined>}
 */
export function recordGet(db, entity, id) {
  return db.get(RECORDS, [entity, id]);
}

/**
 * The local records of one entity (deleted ones only when asked).
 * @param {import("idb").IDBPDatabase} db
 * @param {string} entity
 * @param {{includeDeleted?: boolean}} [options]
 * @returns {Promise<LocalRecord[]>}
 */
export async function recordList(db, entity, { includeDeleted = false } = {}) {
  const rows = await db.getAllFromIndex(RECORDS, "entity", entity);
  return includeDeleted ? rows : rows.filter((row) => !row.deleted);
}

// --- drafts -------------------------------------------------------------------------------------------

/**
 * Keep typing in progress under `key` (never synced): what was typed survives a killed app.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} key e.g. "note:<answer id>", "rep:<inspection id>", "hazard:<inspection id>:<item code>"
 * @param {*} value anything structured-cloneable
 */
export async function putDraft(db, key, value) {
  await db.put(DRAFTS, { key, value, at: new Date().toISOString() });
}

/**
 * The draft kept under `key`, or undefined.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} key
 */
export async function getDraft(db, key) {
  return (await db.get(DRAFTS, key))?.value;
}

/**
 * Every draft whose key starts with `prefix`, as a key → value map.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} prefix
 * @returns {Promise<Record<string, any>>}
 */
export async function draftsWithPrefix(db, prefix) {
  const rows = await db.getAll(DRAFTS, IDBKeyRange.bound(prefix, `${prefix}\uffff`));
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}

/**
 * Forget a draft (the inspector dropped what was typed).
 * @param {import("idb").IDBPDatabase} db
 * @param {string} key
 */
export async function deleteDraft(db, key) {
  await db.delete(DRAFTS, key);
}

// --- the outbox ---------------------------------------------------------------------------------------

/**
 * The oldest unacknowledged mutations, in seq order, exactly as they travel.
 * @param {import("idb").IDBPDatabase} db
 * @param {number} [limit]
 * @returns {Promise<Mutation[]>}
 */
export function pendingMutations(db, limit = 100) {
  return db.getAll(OUTBOX, undefined, limit);
}

/**
 * How many mutations wait for the server.
 * @param {import("idb").IDBPDatabase} db
 * @returns {Promise<number>}
 */
export function pendingCount(db) {
  return db.count(OUTBOX);
}

/**
 * Drop the outbox entries with seq ≤ lastSeq (the server acknowledged them); returns how many were dropped.
 * Also notes, on each blob a dropped photo mutation references, that the server has the photo record.
 * @param {import("idb").IDBPDatabase} db
 * @param {number} lastSeq
 * @returns {Promise<number>}
 */
export function ackUpTo(db, lastSeq) {
  return atomically(db, [META, OUTBOX, BLOBS], async (tx) => {
    const outbox = tx.objectStore(OUTBOX);
    const blobs = tx.objectStore(BLOBS);
    let dropped = 0;
    let top = null;
    let cursor = await outbox.openCursor(IDBKeyRange.upperBound(lastSeq));
    while (cursor) {
      const mutation = cursor.value;
      const sha = photoSha(mutation);
      if (sha) {
        // A placeholder row when the bytes are not on the device yet: putBlob fills it and keeps the mark,
        // so those bytes can still be released once uploaded.
        const blob = (await blobs.get(sha)) ?? emptyBlobRow(sha, mutation.data.mime, mutation.data.size);
        if (blob.recordAckedSeq == null) {
          blob.recordAckedSeq = mutation.seq;
          await blobs.put(blob);
        }
      }
      top = mutation.seq;
      dropped += 1;
      await cursor.delete();
      cursor = await cursor.continue();
    }
    if (top !== null) {
      const acked = await metaIn(tx, "ackedSeq", 0);
      await tx.objectStore(META).put({ name: "ackedSeq", value: Math.max(acked, top) });
    }
    return dropped;
  });
}

// --- summary ------------------------------------------------------------------------------------------

/**
 * What the inspector must see at all times: what is not yet on the server, and how the last sync went.
 * @param {import("idb").IDBPDatabase} db
 * @returns {Promise<StorageSummary>}
 */
export async function storageSummary(db) {
  const tx = db.transaction([META, OUTBOX, BLOBS]);
  const pending = await tx.objectStore(OUTBOX).count();
  let pendingBlobs = 0;
  let pendingBlobBytes = 0;
  let rejectedBlobs = 0;
  let cursor = await tx.objectStore(BLOBS).openCursor();
  while (cursor) {
    const row = cursor.value;
    if (row.rejected) rejectedBlobs += 1;
    else if (!row.uploaded && row.bytes != null) {
      pendingBlobs += 1;
      pendingBlobBytes += row.size;
    }
    cursor = await cursor.continue();
  }
  const lastSync = await metaIn(tx, "lastSync", null);
  const lastError = await metaIn(tx, "lastError", null);
  await tx.done;
  return { pendingMutations: pending, pendingBlobs, pendingBlobBytes, rejectedBlobs, lastSync, lastError };
}

// --- helpers ------------------------------------------------------------------------------------------

// A JSON round trip freezes the data as it will travel; NaN and Infinity would silently become null,
// so they are refused instead (the server could not tell them from an intended null).
function freezeData(data) {
  if (typeof data !== "object" || Array.isArray(data)) throw new TypeError("data must be a plain object");
  const text = JSON.stringify(data, (key, value) => {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new TypeError(`data field ${JSON.stringify(key)} is not a finite number`);
    }
    return value;
  });
  return JSON.parse(text);
}

function awareTime(at) {
  if (at instanceof Date) {
    if (Number.isNaN(at.getTime())) throw new TypeError("at is an invalid Date");
    return at.toISOString();
  }
  if (typeof at === "string" && AWARE_TIME_RE.test(at) && !Number.isNaN(Date.parse(at))) return at;
  throw new TypeError("at must be a Date or an ISO time with a time zone");
}
