// The local-first write path and the sync bookkeeping on top of the IndexedDB schema (DESIGN §4).
// Every function takes the open database first, so tabs, tests and the service worker share one code path.

import { STORES } from "./schema.js";

const { meta: META, outbox: OUTBOX, replica: REPLICA, records: RECORDS, blobs: BLOBS, drafts: DRAFTS } = STORES;

// What the server's MutationSchema accepts; checked here because one malformed entry in the outbox would
// make the server refuse every batch that carries it, and outbox entries cannot be edited afterwards.
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256_RE = /^[0-9a-f]{64}$/;
const AWARE_TIME_RE = /(Z|[+-]\d{2}:?\d{2})$/;
const OPS = new Set(["upsert", "delete"]);

/** Codes a blob is set aside with when the device's own copy is at fault, not the server. */
export const LOCAL_BLOB_CHANGED = "local.changed";

/**
 * A mutation as it travels in a push.
 * @typedef {{seq: number, entity: string, id: string, op: "upsert" | "delete", base_version: number | null, data: object, at: string}} Mutation
 */

/**
 * A replicated row, shaped like a pull change.
 * @typedef {{entity: string, id: string, version: number, deleted: boolean, data: object | null}} ReplicaRow
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

/**
 * A photo's bytes and upload state (bytes are null once released or before they arrive).
 * @typedef {{sha256: string, bytes: ArrayBuffer | null, size: number, mime: string, uploaded: boolean, rejected?: string, recordAckedSeq: number | null, failures: number, addedAt: string}} BlobRow
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

async function metaIn(tx, name, fallback) {
  const row = await tx.objectStore(META).get(name);
  return row === undefined ? fallback : row.value;
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

// --- the replica --------------------------------------------------------------------------------------

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

// --- photo blobs --------------------------------------------------------------------------------------

/**
 * Keep a photo's bytes for upload under their SHA-256 (write-once: a second put of the same hash is a no-op).
 * The hash is checked when WebCrypto is available, since wrong bytes would be refused by the server forever.
 * @param {import("idb").IDBPDatabase} db
 * @param {{sha256: string, bytes: ArrayBuffer | ArrayBufferView, mime: string}} blob
 * @param {{subtle?: SubtleCrypto | null}} [options]
 * @returns {Promise<Omit<BlobRow, "bytes">>}
 */
export async function putBlob(db, { sha256, bytes, mime }, { subtle = globalThis.crypto?.subtle ?? null } = {}) {
  if (typeof sha256 !== "string" || !SHA256_RE.test(sha256)) throw new TypeError("sha256 must be 64 lowercase hex digits");
  const buffer = toArrayBuffer(bytes);
  if (subtle) {
    const actual = await sha256Hex(buffer, subtle);
    if (actual !== sha256) throw new Error(`the bytes hash to ${actual}, not ${sha256}`);
  }
  // The hash is computed before the transaction opens: awaiting anything but IndexedDB inside it
  // would let it commit early.
  const row = await atomically(db, [BLOBS], async (tx) => {
    const store = tx.objectStore(BLOBS);
    const existing = await store.get(sha256);
    let row = existing;
    if (!existing || (existing.bytes == null && !existing.uploaded)) {
      row = {
        ...emptyBlobRow(sha256, mime, buffer.byteLength),
        ...(existing ?? {}),
        discarded: false, // the same bytes taken again are wanted again
        bytes: buffer,
        size: buffer.byteLength,
        mime: mime ?? existing?.mime ?? "application/octet-stream",
      };
      await store.put(row);
    }
    return row;
  });
  return withoutBytes(row);
}

/**
 * The stored bytes of one blob, or null when they were released (or never arrived).
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 * @returns {Promise<ArrayBuffer | null>}
 */
export async function getBlobBytes(db, sha) {
  const row = await db.get(BLOBS, sha);
  return row?.bytes ?? null;
}

/**
 * The metadata of one blob (no bytes), or undefined.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 */
export async function getBlobInfo(db, sha) {
  const row = await db.get(BLOBS, sha);
  return row ? withoutBytes(row) : undefined;
}

/**
 * Blobs the server has not confirmed and has not refused, those that failed before last (no bytes).
 * @param {import("idb").IDBPDatabase} db
 * @returns {Promise<Array<Omit<BlobRow, "bytes">>>}
 */
export async function blobsToUpload(db) {
  const rows = [];
  // A cursor, not getAll: only one photo's bytes are in memory at a time.
  let cursor = await db.transaction(BLOBS).store.openCursor();
  while (cursor) {
    const row = cursor.value;
    if (!row.uploaded && !row.rejected && !row.discarded && row.bytes != null) rows.push(withoutBytes(row));
    cursor = await cursor.continue();
  }
  // One blob the server keeps choking on must not hold up the others.
  return rows.sort((a, b) => a.failures - b.failures || a.addedAt.localeCompare(b.addedAt) || a.sha256.localeCompare(b.sha256));
}

/**
 * The inspector deleted the photo (or redid the signature) these bytes belong to, before submitting: if no live
 * local photo or signature still names them, they are never uploaded and their bytes are freed.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 * @returns {Promise<boolean>} whether the blob was discarded
 */
export function discardBlobIfUnused(db, sha) {
  return atomically(db, [RECORDS, BLOBS], async (tx) => {
    let cursor = await tx.objectStore(RECORDS).openCursor();
    while (cursor) {
      const { entity, deleted, data } = cursor.value;
      if (!deleted && entity === "photo" && data?.sha256 === sha) return false;
      if (entity === "inspection" && (data?.signatures ?? []).some((sig) => sig.sha256 === sha)) return false;
      cursor = await cursor.continue();
    }
    const store = tx.objectStore(BLOBS);
    const row = await store.get(sha);
    if (!row || row.uploaded) return false;
    await store.put({ ...row, bytes: null, discarded: true });
    return true;
  });
}

/**
 * The server confirmed it holds the complete, verified blob.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 */
export function markBlobUploaded(db, sha) {
  return updateBlob(db, sha, (row) => {
    row.uploaded = true;
  });
}

/**
 * The server (or the device's own check) refused the blob for good: stop offering it; the bytes stay.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 * @param {string} reason a problem code such as "415.40"
 */
export function markBlobRejected(db, sha, reason) {
  return updateBlob(db, sha, (row) => {
    row.rejected = String(reason);
  });
}

/**
 * An upload of this blob gave up on transient errors: offer it after the others next time.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 */
export function noteBlobFailure(db, sha) {
  return updateBlob(db, sha, (row) => {
    row.failures = (row.failures ?? 0) + 1;
  });
}

/**
 * Drop one blob's bytes, keeping its metadata, if the server has both the bytes and the photo record.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 * @returns {Promise<boolean>} whether bytes were dropped
 */
export async function deleteUploadedBlobBytes(db, sha) {
  let dropped = false;
  await updateBlob(db, sha, (row) => {
    if (row.bytes != null && releasable(row, Infinity)) {
      row.bytes = null;
      dropped = true;
    }
  });
  return dropped;
}

/**
 * Blobs whose bytes may be freed once the server confirms it holds them: uploaded, their photo record
 * acknowledged (at a seq this device recorded as acknowledged), bytes still here. No bytes are returned.
 * @param {import("idb").IDBPDatabase} db
 * @returns {Promise<Array<Omit<BlobRow, "bytes">>>}
 */
export async function blobsToRelease(db) {
  const tx = db.transaction([META, BLOBS]);
  const acked = await metaIn(tx, "ackedSeq", 0);
  const rows = [];
  let cursor = await tx.objectStore(BLOBS).openCursor();
  while (cursor) {
    if (cursor.value.bytes != null && releasable(cursor.value, acked)) rows.push(withoutBytes(cursor.value));
    cursor = await cursor.continue();
  }
  await tx.done;
  return rows;
}

/**
 * The server does not hold this blob after all (a HEAD said so): offer it for upload again.
 * @param {import("idb").IDBPDatabase} db
 * @param {string} sha
 */
export function markBlobNotHeld(db, sha) {
  return updateBlob(db, sha, (row) => {
    row.uploaded = false;
  });
}

/**
 * Drop the bytes of every uploaded blob whose photo mutation was acknowledged at seq ≤ lastSeq.
 * @param {import("idb").IDBPDatabase} db
 * @param {number} lastSeq
 * @returns {Promise<number>} how many blobs' bytes were dropped
 */
export function releaseBlobsAckedUpTo(db, lastSeq) {
  return atomically(db, [META, BLOBS], async (tx) => {
    // Never beyond what this device recorded as acknowledged, whatever the caller passes.
    const limit = Math.min(lastSeq, await metaIn(tx, "ackedSeq", 0));
    let released = 0;
    let cursor = await tx.objectStore(BLOBS).openCursor();
    while (cursor) {
      const row = cursor.value;
      if (row.bytes != null && releasable(row, limit)) {
        await cursor.update({ ...row, bytes: null });
        released += 1;
      }
      cursor = await cursor.continue();
    }
    return released;
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

/**
 * SHA-256 of some bytes as 64 lowercase hex digits.
 * @param {BufferSource} bytes
 * @param {SubtleCrypto} [subtle]
 * @returns {Promise<string>}
 */
export async function sha256Hex(bytes, subtle = globalThis.crypto.subtle) {
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function releasable(row, limit) {
  return row.uploaded && row.recordAckedSeq != null && row.recordAckedSeq <= limit;
}

function photoSha(mutation) {
  const sha = mutation.entity === "photo" && mutation.op === "upsert" ? mutation.data?.sha256 : null;
  return typeof sha === "string" && SHA256_RE.test(sha) ? sha : null;
}

function emptyBlobRow(sha256, mime, size) {
  return {
    sha256,
    bytes: null,
    size: Number.isInteger(size) ? size : 0,
    mime: mime ?? "application/octet-stream",
    uploaded: false,
    recordAckedSeq: null,
    failures: 0,
    addedAt: new Date().toISOString(),
  };
}

function withoutBytes(row) {
  const { bytes, ...rest } = row;
  return { ...rest, hasBytes: bytes != null };
}

function updateBlob(db, sha, change) {
  return atomically(db, [BLOBS], async (tx) => {
    const store = tx.objectStore(BLOBS);
    const row = await store.get(sha);
    if (row) {
      change(row);
      await store.put(row);
    }
    return Boolean(row);
  });
}

// A request that throws synchronously (a bad key, say) does not abort an IndexedDB transaction by itself:
// without the explicit abort, the writes made before it would commit. All or nothing, always.
async function atomically(db, stores, work) {
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
 * @param {ArrayBuffer | ArrayBufferView} bytes
 * @returns {ArrayBuffer}
 */
function toArrayBuffer(bytes) {
  if (bytes instanceof ArrayBuffer) return bytes;
  // A view over a SharedArrayBuffer is copied all the same: slice() gives a buffer of the same kind, which
  // IndexedDB and WebCrypto take alike; the cast only tells the checker which kind we expect.
  if (ArrayBuffer.isView(bytes)) return /** @type {ArrayBuffer} */ (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  throw new TypeError("bytes must be an ArrayBuffer or a typed array");
}

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

function abortQuietly(tx) {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted by the failed request itself.
  }
}
