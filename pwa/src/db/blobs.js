// Photo and signature bytes kept for upload under their SHA-256, and when they may be released (uploaded and
// their photo record acknowledged) or set aside (refused by the server, or changed on the device).
import { STORES } from "./schema.js";
import { atomically, metaIn } from "./tx.js";

const { meta: META, records: RECORDS, blobs: BLOBS } = STORES;

const SHA256_RE = /^[0-9a-f]{64}$/;

/** Codes a blob is set aside with when the device's own copy is at fault, not the server. */
export const LOCAL_BLOB_CHANGED = "local.changed";

/**
 * A photo's bytes and upload state (bytes are null once released or before they arrive).
 * @typedef {{sha256: string, bytes: ArrayBuffer | null, size: number, mime: string, uploaded: boolean, rejected?: string, recordAckedSeq: number | null, failures: number, addedAt: string}} BlobRow
 */

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

// The photo a mutation records, if any (store.js: ackUpTo marks its blob).
export function photoSha(mutation) {
  const sha = mutation.entity === "photo" && mutation.op === "upsert" ? mutation.data?.sha256 : null;
  return typeof sha === "string" && SHA256_RE.test(sha) ? sha : null;
}

// A blob row without bytes yet (also the placeholder ackUpTo leaves for a photo whose bytes are still to come).
export function emptyBlobRow(sha256, mime, size) {
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
