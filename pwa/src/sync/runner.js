// One sync round for this device: push the outbox, upload photos, pull (skipped when the last push's reply
// carried every change, DESIGN §4). The browser counterpart of
// sync/client.py: the same outbox, retry and upload rules. Around it: failures.js (what a failure means and
// whether to retry), scheduler.js (when rounds run), enrol.js (signing the tablet in).
//
// Never lose, never duplicate, never trust a bare 200: an outbox entry is dropped only once a reply that
// names this very device acknowledges it; a lost reply is simply resent (the server answers "duplicate").

import {
  ackUpTo,
  applyPullPage,
  blobsToRelease,
  blobsToUpload,
  deleteUploadedBlobBytes,
  getBlobBytes,
  getMeta,
  markBlobRejected,
  markBlobNotHeld,
  markBlobUploaded,
  noteBlobFailure,
  pendingCount,
  pendingMutations,
  resetReplica,
  setMeta,
  sha256Hex,
  storageSummary,
  LOCAL_BLOB_CHANGED,
} from "../db/store.js";
import { ProtocolError, SCHEMA_VERSION, SyncError } from "./api.js";
import { describeError, isTransient, RetriesExhausted } from "./failures.js";
import { quarantineNotice } from "./quarantine.js";

/** What one server request may list (BlobMissingRequestSchema). */
const MAX_BLOBS_PER_QUERY = 1000;

/**
 * What one sync round did, and how it failed if it did (`error`, also kept as meta "lastError").
 * @typedef {{skipped: boolean, pushed: number, duplicates: number, quarantined: number, uploaded: number, rejected: number,
 *   pulled: number, released: number, stalled: boolean, problems: object[], error: import("../db/store.js").SyncFailure | null,
 *   pending?: number, waiting: boolean, serverLastSeq?: number}} RunSummary
 */

/**
 * A stand-in for navigator.locks where the browser has none: exclusive within this page only.
 * @returns {{request: (name: string, options: {ifAvailable?: boolean}, callback: (lock: object | null) => Promise<any>) => Promise<any>}}
 */
export function createMemoryLocks() {
  const held = new Map();
  return {
    async request(name, options, callback) {
      while (held.has(name)) {
        if (options?.ifAvailable) return callback(null);
        await held.get(name);
      }
      /** @type {() => void} */
      let release = () => {};
      held.set(name, new Promise((resolve) => (release = () => resolve(undefined))));
      try {
        return await callback({ name, mode: "exclusive" });
      } finally {
        held.delete(name);
        release();
      }
    },
  };
}

/**
 * A full batch cut after its last inspection submission when at least half of it stays; any other batch whole (the
 * Python client's cut_batch). An inspection whose submission travels in the next push is loaded again there to be
 * sealed (its participants, answers and findings), and a push that ends with the submission puts it on the server
 * whole.
 * @template {{entity: string, data?: any}} M
 * @param {M[]} batch the oldest pending mutations, at most `limit`
 * @param {number} limit the batch size asked for
 * @returns {M[]}
 */
export function cutAtSubmission(batch, limit) {
  if (batch.length < limit) return batch;
  for (let i = batch.length - 1; i >= 0 && i + 1 >= Math.ceil(limit / 2); i -= 1) {
    const m = batch[i];
    if (m.entity === "inspection" && m.data != null && m.data.status === "submitted") return batch.slice(0, i + 1);
  }
  return batch;
}

/**
 * Build the sync runner for one device database.
 * @param {{
 *   db: import("idb").IDBPDatabase,
 *   api: ReturnType<typeof import("./api.js").createApi>,
 *   now?: () => Date,
 *   sleep?: (ms: number) => Promise<void>,
 *   random?: () => number,
 *   locks?: {request: Function},
 *   subtle?: SubtleCrypto | null,
 *   maxAttempts?: number, baseDelayMs?: number, maxDelayMs?: number,
 *   batchSize?: number, pullLimit?: number, chunkSize?: number,
 *   onProgress?: () => void,
 * }} options
 *   onProgress is called whenever the counts the inspector sees fell (a batch acknowledged, a photo sent).
 */
export function createRunner({
  db,
  api,
  now = () => new Date(),
  sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random = Math.random,
  locks = globalThis.navigator?.locks ?? createMemoryLocks(),
  subtle = globalThis.crypto?.subtle ?? null,
  maxAttempts = 5,
  baseDelayMs = 1000,
  maxDelayMs = 60000,
  batchSize = 100,
  pullLimit = 500,
  chunkSize = 256 * 1024,
  onProgress = () => {},
}) {
  if (maxAttempts < 1) throw new RangeError("maxAttempts must be at least 1");

  async function backoff(failures, retryAfterSeconds) {
    let delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (failures - 1));
    // Equal jitter: tablets coming back online together after an outage must not retry in lockstep.
    delay = delay / 2 + random() * (delay / 2);
    if (retryAfterSeconds != null) delay = Math.max(delay, Math.min(retryAfterSeconds * 1000, maxDelayMs));
    await sleep(delay);
  }

  /** Call `attempt` until it succeeds; transient failures back off, anything else is thrown at once. */
  async function withRetry(label, attempt) {
    for (let failures = 1; ; failures += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!isTransient(error)) throw error;
        if (failures >= maxAttempts) throw new RetriesExhausted(`${label}: ${error.message}`, error);
        await backoff(failures, error instanceof SyncError ? error.retryAfter : null);
      }
    }
  }

  // Whether this round's replica is as current as a pull made after its last push (that push's reply carried
  // the page that follows it, with nothing more to come): the round's pull is then skipped.
  let caughtUp = false;

  async function pushAll(device, summary) {
    let size = Math.max(1, batchSize);
    for (;;) {
      // The outbox is read again for every attempt: a change saved while a push waited for its retry (the
      // submit, typically) travels with it, instead of the stale batch going first and the rest alone after.
      let batch = cutAtSubmission(await pendingMutations(db, size), size);
      if (batch.length === 0) return;
      let reply;
      /** @type {{cursor: string | null, limit: number} | null} */
      let asked = null;
      caughtUp = false; // this batch's own rows are in no page applied so far
      try {
        reply = await withRetry("push", async () => {
          batch = cutAtSubmission(await pendingMutations(db, size), size);
          const seqs = new Set(batch.map((m) => m.seq));
          const body = { device_id: device.id, schema: SCHEMA_VERSION, mutations: batch };
          // The batch that empties the outbox asks for the pull page that follows it, unless photos wait: the
          // round pulls after their upload anyway (a completed photo may change what the device sees).
          asked = batch.length > 0 && (await pendingCount(db)) === batch.length && (await blobsToUpload(db)).length === 0
            ? { cursor: await getMeta(db, "cursor", null), limit: pullLimit }
            : null;
          if (asked) body.pull = asked;
          const answer = await api.push(device.token, body);
          // Someone else's reply (a confused proxy, a bug): acting on it could drop entries never applied.
          if (answer.device_id.toLowerCase() !== device.id.toLowerCase()) {
            throw new ProtocolError(`push reply for device ${answer.device_id}, not ${device.id}`);
          }
          if (answer.results.some((r) => !seqs.has(r.seq))) throw new ProtocolError("push reply with results for seqs not sent");
          return answer;
        });
      } catch (error) {
        if (error instanceof SyncError && error.status === 413 && size > 1) {
          // Too many mutations or bytes for one request: halve the batch and go on.
          size = Math.max(1, Math.floor(Math.min(size, batch.length) / 2));
          continue;
        }
        throw error;
      }
      if (batch.length === 0) return;
      const first = batch[0].seq;
      const last = batch[batch.length - 1].seq;
      const quarantined = [];
      for (const result of reply.results) {
        if (result.status === "quarantined") {
          summary.quarantined += 1;
          const mutation = batch.find((m) => m.seq === result.seq);
          quarantined.push(quarantineNotice(result, mutation, now()));
        } else if (result.status === "duplicate") summary.duplicates += 1;
        if (result.code) summary.problems.push(result);
      }
      // Kept before the entries are dropped: the inspector must hear of every refusal, even after a crash here.
      if (quarantined.length) await setMeta(db, "quarantined", [...(await getMeta(db, "quarantined", [])), ...quarantined]);
      // Only what this batch carried, and only up to what the server says it has processed.
      const upto = Math.min(reply.last_seq, last);
      if (upto >= first) {
        summary.pushed += await ackUpTo(db, upto);
        onProgress();
      }
      summary.serverLastSeq = reply.last_seq;
      // Set by the attempt that succeeded (inside the retried closure, out of the type checker's sight).
      const sent = /** @type {{cursor: string | null, limit: number} | null} */ (asked);
      if (sent && reply.pull && (await getMeta(db, "cursor", null)) === sent.cursor) {
        // Made by the server after this push committed, from our cursor: a pull's page in all but name.
        summary.pulled += await applyPullPage(db, reply.pull);
        caughtUp = !reply.pull.has_more;
      }
      if (upto < last) {
        // The server is behind this outbox (a gap it cannot fill): the rest stays queued for later.
        summary.stalled = true;
        return;
      }
    }
  }

  async function uploadAll(device, summary) {
    const rows = await blobsToUpload(db);
    if (rows.length === 0) return;
    caughtUp = false; // a photo completed now may change rows the device sees: the round pulls after the uploads
    const missing = new Set();
    for (let start = 0; start < rows.length; start += MAX_BLOBS_PER_QUERY) {
      const asked = rows.slice(start, start + MAX_BLOBS_PER_QUERY).map((r) => r.sha256);
      const reply = await withRetry("blobs/missing", () => api.blobsMissing(device.token, asked));
      for (const sha of reply) missing.add(sha);
    }
    // Those the server says it holds go first: each is still confirmed by a HEAD (a bare list is no proof).
    const ordered = [...rows.filter((r) => !missing.has(r.sha256)), ...rows.filter((r) => missing.has(r.sha256))];
    for (const row of ordered) {
      try {
        const outcome = await uploadOne(device, row, missing.has(row.sha256) ? 0 : null);
        if (outcome === "uploaded") summary.uploaded += 1;
        else if (outcome === "rejected") summary.rejected += 1;
        onProgress();
      } catch (error) {
        if (error instanceof RetriesExhausted || (error instanceof SyncError && error.code === "422.40")) {
          await noteBlobFailure(db, row.sha256);
        }
        throw error;
      }
    }
  }

  /**
   * Bring one blob to complete on the server. `start` is where to begin without asking first;
   * null asks the server (HEAD). Returns "uploaded", "rejected" or "gone" (bytes released meanwhile).
   */
  async function uploadOne(device, row, start) {
    const bytes = await getBlobBytes(db, row.sha256);
    if (bytes == null) return "gone";
    const sha = row.sha256;
    const size = bytes.byteLength;
    let offset = start;
    let failures = 0;
    let restarts = 0;
    for (;;) {
      try {
        if (offset === null) {
          const status = await api.blobHead(device.token, sha);
          if (status.complete) {
            await markBlobUploaded(db, sha);
            headConfirmed.add(sha);
            return "uploaded";
          }
          offset = status.offset;
        }
        if (offset > size) throw new SyncError({ status: 0, code: "blob_offset", message: `the server holds ${offset} bytes of a ${size}-byte blob` });
        const chunk = bytes.slice(offset, Math.min(size, offset + chunkSize));
        const status = await api.blobPut(device.token, sha, chunk, { offset, length: size });
        if (status.complete) {
          await markBlobUploaded(db, sha);
          return "uploaded";
        }
        if (status.received <= offset) throw new ProtocolError(`no progress: ${status.received} bytes after a chunk at ${offset}`);
        offset = status.received;
        failures = 0;
      } catch (error) {
        if (error instanceof SyncError && error.status === 409 && error.uploadOffset != null) {
          // Someone (our own lost attempt, most likely) moved the offset: continue from there.
          offset = error.uploadOffset;
          failures += 1;
          if (failures >= maxAttempts) throw new RetriesExhausted(`upload ${sha}: offsets keep moving`, error);
          continue;
        }
        if (error instanceof SyncError && error.code === "422.40") {
          // The server's copy did not hash to the name and was dropped: start again from zero, unless it is
          // our own copy that no longer matches (then no retry can help).
          if (subtle && (await sha256Hex(bytes, subtle)) !== sha) {
            await markBlobRejected(db, sha, LOCAL_BLOB_CHANGED);
            return "rejected";
          }
          restarts += 1;
          if (restarts > 2) throw error;
          offset = 0;
          continue;
        }
        if (isTransient(error)) {
          failures += 1;
          if (failures >= maxAttempts) throw new RetriesExhausted(`upload ${sha}: ${error.message}`, error);
          await backoff(failures, error instanceof SyncError ? error.retryAfter : null);
          offset = null; // what arrived is unknown: ask again
          continue;
        }
        if (error instanceof SyncError && error.status !== 401 && error.status !== 403 && error.status !== 404
          && error.status >= 400 && error.code.includes(".")) {
          // Not an image, too large, too many pixels …: the app's verdict is final, never retried.
          await markBlobRejected(db, sha, error.code);
          return "rejected";
        }
        throw error;
      }
    }
  }

  async function pullAll(device, summary) {
    if (caughtUp) return;
    let restarted = false;
    for (;;) {
      const cursor = await getMeta(db, "cursor", null);
      let page;
      try {
        page = await withRetry("pull", () => api.pull(device.token, { cursor, limit: pullLimit }));
      } catch (error) {
        if (error instanceof SyncError && error.code === "400.41" && cursor && !restarted) {
          // The server no longer knows our cursor (its secret changed, say): resync from zero.
          await resetReplica(db);
          restarted = true;
          continue;
        }
        throw error;
      }
      if (page.has_more && page.changes.length === 0 && page.cursor === cursor) {
        throw new ProtocolError("pull promises more but does not move on");
      }
      summary.pulled += await applyPullPage(db, page);
      if (!page.has_more) return;
    }
  }

  /**
   * Free the bytes of photos whose record the server acknowledged, each only after a HEAD made now says the
   * server holds them complete: a PUT answered "complete" by a server killed before its row was durable
   * (a half-accepted upload) would otherwise lose the only copy. A HEAD that says otherwise re-queues it.
   */
  async function verifyAndRelease(device, summary) {
    for (const row of await blobsToRelease(db)) {
      // A HEAD of this round (made after the push phase, so after the record's acknowledgement) already checked it.
      if (headConfirmed.has(row.sha256)) {
        if (await deleteUploadedBlobBytes(db, row.sha256)) summary.released += 1;
        continue;
      }
      const status = await withRetry("blob check", () => api.blobHead(device.token, row.sha256));
      if (status.complete) {
        if (await deleteUploadedBlobBytes(db, row.sha256)) summary.released += 1;
      } else {
        await markBlobNotHeld(db, row.sha256);
        summary.waiting = true;
      }
    }
  }

  // Blobs a HEAD confirmed complete during the current round.
  const headConfirmed = new Set();

  async function run() {
    headConfirmed.clear();
    caughtUp = false;
    /** @type {RunSummary} */
    const summary = {
      skipped: false, pushed: 0, duplicates: 0, quarantined: 0, uploaded: 0, rejected: 0, pulled: 0, released: 0,
      stalled: false, problems: [], error: null, waiting: false,
    };
    const device = await getMeta(db, "device", null);
    if (!device?.id || !device?.token) {
      summary.error = describeError(new SyncError({ status: 401, code: "401.1", message: "device not registered" }), now());
      await setMeta(db, "lastError", summary.error);
      return summary;
    }
    // Records first, then photos: photo metadata may reach the server before its bytes (DESIGN §4).
    const phases = [
      () => pushAll(device, summary),
      () => uploadAll(device, summary),
      () => verifyAndRelease(device, summary),
      () => pullAll(device, summary),
    ];
    for (const phase of phases) {
      try {
        await phase();
      } catch (error) {
        const described = describeError(error, now());
        summary.error ??= described;
        // Signed out, or the network is gone: every later phase would fail the same way.
        if (described.reauth || described.offline) break;
        if (!(error instanceof SyncError || error instanceof RetriesExhausted || error instanceof ProtocolError)) break;
      }
    }
    if (!summary.error && summary.stalled) {
      // Not a failure of this run, but the queue cannot drain by itself: someone must look at the server.
      // (A push sets serverLastSeq whenever it sets stalled.)
      const expected = (summary.serverLastSeq ?? 0) + 1;
      const zh = `服务器缺少本机较早的记录（应从第 ${expected} 条开始），其余记录暂存本机无法上传，请联系管理员。`;
      const en = `The server lacks this device's earlier records (expects seq ${expected}); the rest stay on this device. Contact an administrator.`;
      summary.error = {
        code: "stalled", status: null, message: zh, message_en: en, messages: { "zh-CN": zh, en },
        detail: null, reauth: false, offline: false, at: now().toISOString(),
      };
    }
    if (!summary.error && summary.quarantined > 0) {
      // Everything travelled, but the server refused some of it: never a plain success (the list says which).
      const n = summary.quarantined;
      const zh = `本次同步有 ${n} 条记录被服务器拒收（已隔离），请查看下方原因和处理办法。`;
      const en = `${n} record(s) were refused (quarantined) by the server: see the reasons and what to do below.`;
      summary.error = {
        code: "quarantined", status: null, message: zh, message_en: en, messages: { "zh-CN": zh, en },
        detail: null, reauth: false, offline: false, at: now().toISOString(),
      };
      await setMeta(db, "lastSync", now().toISOString());
    }
    if (summary.error) {
      await setMeta(db, "lastError", summary.error);
    } else {
      await setMeta(db, "lastSync", now().toISOString());
      await setMeta(db, "lastError", null);
    }
    const left = await storageSummary(db);
    summary.pending = left.pendingMutations;
    // What a retry could still move: records, or photo bytes the server does not hold yet.
    summary.waiting = summary.waiting || left.pendingMutations > 0 || left.pendingBlobs > 0;
    return summary;
  }

  let current = null;
  let queued = null;

  function begin() {
    // Waits for the lock when another tab or the service worker holds it: that round may have read the
    // outbox before this tab's save, so skipping would leave the save behind.
    current = locks.request("sync", {}, () => run()).finally(() => {
      current = null;
    });
    return current;
  }

  return {
    /**
     * One sync round under the "sync" Web Lock (queued behind a round in progress, here or in another tab).
     * Never throws for a sync failure: the failure is in the summary's `error` and in meta.lastError.
     * @returns {Promise<RunSummary>}
     */
    runOnce() {
      // At most one round running and one queued in this tab: a request made during a round is never
      // dropped, and any number of them coalesce into that one next round (which reads the outbox afresh).
      if (queued) return queued;
      if (current) {
        queued = current.catch(() => {}).then(() => {
          queued = null;
          return begin();
        });
        return queued;
      }
      return begin();
    },
  };
}
