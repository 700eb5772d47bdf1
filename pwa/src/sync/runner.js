// One sync round for this device — push the outbox, upload photos, pull — and the DOM-less scheduler
// that runs it. The browser counterpart of sync/client.py: the same outbox, retry and upload rules.
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
  pendingMutations,
  resetReplica,
  setMeta,
  sha256Hex,
  startNewDevice,
  storageSummary,
  LOCAL_BLOB_CHANGED,
} from "../db/store.js";
import { NetworkError, ProtocolError, SCHEMA_VERSION, SyncError } from "./api.js";
import { quarantineNotice } from "./quarantine.js";

/** What one server request may list (BlobMissingRequestSchema). */
const MAX_BLOBS_PER_QUERY = 1000;
// "Not now" rather than "never": retried with backoff like a 5xx.
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** Every attempt of one request failed with a transient error; `cause` is the last one. */
export class RetriesExhausted extends Error {
  constructor(message, cause) {
    super(message, { cause });
    this.name = "RetriesExhausted";
  }
}

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

  function isTransient(error) {
    if (error instanceof NetworkError || error instanceof ProtocolError) return true;
    return error instanceof SyncError && (error.status >= 500 || RETRYABLE_STATUS.has(error.status));
  }

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

  async function pushAll(device, summary) {
    let size = Math.max(1, batchSize);
    for (;;) {
      // The outbox is read again for every attempt: a change saved while a push waited for its retry (the
      // submit, typically) travels with it, instead of the stale batch going first and the rest alone after.
      let batch = await pendingMutations(db, size);
      if (batch.length === 0) return;
      let reply;
      try {
        reply = await withRetry("push", async () => {
          batch = await pendingMutations(db, size);
          const seqs = new Set(batch.map((m) => m.seq));
          const answer = await api.push(device.token, { device_id: device.id, schema: SCHEMA_VERSION, mutations: batch });
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

/**
 * A sync failure in words for the inspector, Chinese first (meta.lastError's shape).
 * @param {unknown} error
 * @param {Date} [at]
 * @returns {import("../db/store.js").SyncFailure}
 */
export function describeError(error, at = new Date()) {
  const info = explain(error, at);
  // The same `messages` map a server problem carries, so one helper can render either in the UI language.
  return { ...info, messages: { "zh-CN": info.message, en: info.message_en } };
}

function explain(error, at) {
  const base = { status: null, detail: null, reauth: false, offline: false, at: at.toISOString() };
  const cause = error instanceof RetriesExhausted ? error.cause : error;
  if (cause instanceof SyncError && cause.status === 401) {
    return {
      ...base,
      code: cause.code,
      status: 401,
      message: "需要重新登录：本设备的登录已失效或已被停用，未同步的记录仍安全保存在本机。",
      message_en: "Sign in again: this device's sign-in expired or was revoked. Unsynced records are safe on this device.",
      detail: cause.messages?.["zh-CN"] ?? null,
      reauth: true,
    };
  }
  if (cause instanceof NetworkError) {
    return {
      ...base,
      code: "network",
      message: "无法连接服务器，记录已保存在本机，联网后会自动同步。",
      message_en: "Cannot reach the server. Records are saved on this device and will sync when online.",
      detail: cause.message,
      offline: true,
    };
  }
  if (cause instanceof ProtocolError) {
    return {
      ...base,
      code: "protocol",
      message: "服务器的回复无法确认，记录仍保存在本机，稍后会重试。",
      message_en: "The server's reply could not be trusted. Records stay on this device; sync will retry.",
      detail: cause.message,
    };
  }
  if (cause instanceof SyncError) {
    const zh = cause.messages?.["zh-CN"];
    const en = cause.messages?.en;
    if (cause.status >= 500 || RETRYABLE_STATUS.has(cause.status)) {
      return {
        ...base,
        code: cause.code,
        status: cause.status,
        message: "服务器暂时无法处理，记录已保存在本机，稍后会自动重试。",
        message_en: "The server is temporarily unavailable. Records are saved on this device; sync will retry.",
        detail: zh ?? null,
      };
    }
    return {
      ...base,
      code: cause.code,
      status: cause.status,
      message: zh ?? `同步被服务器拒绝（${cause.code}）。`,
      message_en: en ?? cause.message,
    };
  }
  return {
    ...base,
    code: "internal",
    message: "同步时出现意外错误，记录仍保存在本机。",
    message_en: "An unexpected error stopped the sync. Records stay on this device.",
    detail: String(error?.message ?? error),
  };
}

/**
 * Sign in and register this device, with an ECDSA P-256 key pair whose private half never leaves it.
 * The device id is kept across re-registrations of the same user (a revoked token, a lost reply), so its
 * seq numbering goes on; another user gets a new device id, which is refused while records are unsynced.
 * @param {{db: import("idb").IDBPDatabase, api: ReturnType<typeof import("./api.js").createApi>, username: string, password: string, label?: string, subtle?: SubtleCrypto, randomUUID?: () => string}} options
 * @returns {Promise<{device: {id: string, token: string, user: object}}>}
 */
export async function enrolDevice({
  db,
  api,
  username,
  password,
  label = "",
  subtle = globalThis.crypto.subtle,
  randomUUID = () => globalThis.crypto.randomUUID(),
}) {
  let keys = await getMeta(db, "deviceKey", null);
  if (!keys) {
    // Non-extractable private key: it can sign seals on this device and cannot be copied off it.
    const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    keys = { privateKey: pair.privateKey, publicKey: pair.publicKey };
    await setMeta(db, "deviceKey", keys);
  }
  // A P-256 public key's JWK always has these four (JsonWebKey types them all as optional).
  const { kty, crv, x, y } = /** @type {{kty: string, crv: string, x: string, y: string}} */ (await subtle.exportKey("jwk", keys.publicKey));
  const session = await api.login(username, password);
  const previous = await getMeta(db, "device", null);
  let id = previous?.id ?? null;
  if (id && previous.user?.id != null && previous.user.id !== session.user.id) {
    // The server refuses a device id that belongs to someone else, and the queued records are the
    // previous inspector's: pushing them under another user's token would misattribute them.
    id = randomUUID();
    try {
      await startNewDevice(db, { id });
    } catch (error) {
      if (error.pending === undefined) throw error;
      const who = previous.user.display_name ?? previous.user.username ?? "上一位用户";
      const zh = `本机还有 ${error.pending} 条未同步的记录属于 ${who}，请由该用户登录完成同步后再更换用户。`;
      throw new SyncError({
        status: 409,
        code: "local.user_switch",
        message: zh,
        messages: { "zh-CN": zh, en: `${error.pending} unsynced records on this device belong to ${who}; let them sign in and sync first.` },
      });
    }
  } else if (!id) {
    id = randomUUID();
    // Kept before asking: a registration whose reply is lost is retried under the same id.
    await setMeta(db, "device", { id, token: null, user: null });
  }
  const registration = await api.registerDevice(session.csrf_token, {
    device_id: id,
    public_key: { kty, crv, x, y },
    ...(label ? { label } : {}),
  });
  if (registration.device.id.toLowerCase() !== id.toLowerCase()) {
    throw new ProtocolError(`registered as device ${registration.device.id}, not ${id}`);
  }
  const device = { id, token: registration.token, user: session.user };
  await setMeta(db, "device", device);
  const lastError = await getMeta(db, "lastError", null);
  if (lastError?.reauth) await setMeta(db, "lastError", null);
  return { device };
}

/**
 * Runs the runner now and then without touching the DOM: `kick()` asks for a round soon (coalescing
 * requests made while one runs), `start()` adds a periodic round. While changes or photos wait and the app
 * is online, rounds are retried on a backoff schedule (retryBaseMs doubling up to retryMaxMs) instead of the
 * long period: this is what sends the outbox where there is no Background Sync (Safari, Firefox). A sign-in
 * problem or being offline waits for the period (or the `online` event) instead. The UI calls kick() on
 * `online`, on `visibilitychange` to visible, and after each save.
 * @param {{runOnce: () => Promise<object>}} runner
 * @param {{intervalMs?: number, retryBaseMs?: number, retryMaxMs?: number, isOnline?: () => boolean, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout, onStart?: () => void, onResult?: (summary: object) => void, onError?: (error: unknown) => void}} [options]
 */
export function createScheduler(runner, {
  intervalMs = 5 * 60 * 1000,
  retryBaseMs = 5000,
  retryMaxMs = 2 * 60 * 1000,
  isOnline = () => globalThis.navigator?.onLine ?? true,
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (handle) => clearTimeout(handle),
  onStart = () => {},
  onResult = () => {},
  onError = () => {},
} = {}) {
  let running = null;
  let again = false;
  let timer = null;
  let started = false;
  let retries = 0;
  let last = null;

  function nextDelay() {
    const retryable = last && last.waiting && !last.error?.reauth && !last.stalled && isOnline();
    if (!retryable) {
      retries = 0;
      return intervalMs;
    }
    retries += 1;
    return Math.min(retryMaxMs, retryBaseMs * 2 ** (retries - 1));
  }

  function arm() {
    if (timer !== null) clearTimer(timer);
    timer = started ? setTimer(() => kick(), nextDelay()) : null;
  }

  async function loop() {
    do {
      again = false;
      onStart();
      try {
        last = await runner.runOnce();
        onResult(last);
      } catch (error) {
        last = null;
        onError(error);
      }
    } while (again);
  }

  /** Ask for a sync round; resolves when the round (and any asked for meanwhile) is done. */
  function kick() {
    if (running) {
      // A save made during a round must not wait for the next period.
      again = true;
      return running;
    }
    running = loop().finally(() => {
      running = null;
      arm();
    });
    return running;
  }

  return {
    kick,
    /** Start periodic rounds (and run one now). */
    start() {
      started = true;
      return kick();
    },
    /** Stop periodic rounds; a round in progress finishes. */
    stop() {
      started = false;
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
    /** Whether a round is in progress in this tab. */
    get busy() {
      return running !== null;
    },
  };
}
