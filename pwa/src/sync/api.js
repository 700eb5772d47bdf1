// The server's HTTP API as the app uses it: sign-in, device registration and the sync protocol (DESIGN §4).
// Every reply is checked before it is returned: a bare 200 proves nothing (a captive portal, a proxy's page).

/** The protocol version announced in every push (sync/protocol.py SCHEMA_VERSION). */
export const SCHEMA_VERSION = 1;

/** The server refused a request: a non-2xx reply, with the problem body's code and messages when it had one. */
export class SyncError extends Error {
  /**
   * @param {{status: number, code: string, message: string, messages?: Record<string, string>, details?: object, uploadOffset?: number | null, retryAfter?: number | null}} problem
   */
  constructor({ status, code, message, messages = {}, details = {}, uploadOffset = null, retryAfter = null }) {
    super(message);
    this.name = "SyncError";
    this.status = status;
    this.code = code;
    this.messages = messages;
    this.details = details;
    /** The Upload-Offset response header (a 409 on an upload says where to resume). */
    this.uploadOffset = uploadOffset;
    /** Seconds from a Retry-After header, when the server sent one. */
    this.retryAfter = retryAfter;
  }
}

/** The request or its reply was lost: offline, connection broken, timed out. The server may have acted on it. */
export class NetworkError extends Error {
  /**
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(message, { cause } = {}) {
    super(message, { cause });
    this.name = "NetworkError";
  }
}

/** A 2xx reply that does not hold what the protocol promises: not trusted, treated as transient. */
export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProtocolError";
  }
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const DIGITS_RE = /^[0-9]{1,15}$/;

/**
 * Bind the API to a fetch implementation and a base URL.
 * @param {{fetch?: typeof fetch, baseUrl?: string, timeoutMs?: number}} [options]
 *   baseUrl "" means the page's own origin (the app and the API are served together).
 */
export function createApi({ fetch: fetchFn = globalThis.fetch?.bind(globalThis), baseUrl = "", timeoutMs = 30000 } = {}) {
  if (typeof fetchFn !== "function") throw new TypeError("createApi needs a fetch implementation");
  const root = baseUrl.replace(/\/+$/, "");

  /**
   * One request; a problem reply becomes a SyncError, a lost one a NetworkError.
   * @param {string} method
   * @param {string} path
   * @param {{token?: string | null, json?: unknown, body?: BodyInit, headers?: Record<string, string>, credentials?: RequestCredentials}} [options]
   * @returns {Promise<Response>}
   */
  async function send(method, path, { token, json, body, headers = {}, credentials = "omit" } = {}) {
    /** @type {Record<string, string>} */
    const all = { Accept: "application/json", ...headers };
    if (json !== undefined) {
      all["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    // Sync calls carry the device token and no cookie: the device, not whoever is signed in, is the caller.
    if (token) all.Authorization = `Bearer ${token}`;
    /** @type {RequestInit} */
    const init = { method, headers: all, body, credentials, cache: "no-store" };
    if (timeoutMs && typeof AbortSignal?.timeout === "function") init.signal = AbortSignal.timeout(timeoutMs);
    let response;
    try {
      response = await fetchFn(root + path, init);
    } catch (error) {
      throw new NetworkError(`${method} ${path}: ${error?.message ?? error}`, { cause: error });
    }
    if (!response.ok) throw await problemOf(response, method, path);
    return response;
  }

  async function readJson(response, method, path) {
    let text;
    try {
      text = await response.text();
    } catch (error) {
      // The reply was cut while its body streamed in: the exchange is lost, not refused.
      throw new NetworkError(`${method} ${path}: reply cut (${error?.message ?? error})`, { cause: error });
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ProtocolError(`${method} ${path}: the reply is not JSON`);
    }
  }

  return {
    /**
     * Sign in with user name and password; the session cookie is kept by the browser.
     * @param {string} username
     * @param {string} password
     * @returns {Promise<{user: object, csrf_token: string}>}
     */
    async login(username, password) {
      const path = "/api/auth/login";
      const response = await send("POST", path, { json: { username, password }, credentials: "same-origin" });
      const reply = await readJson(response, "POST", path);
      if (!isObject(reply) || typeof reply.csrf_token !== "string" || !isObject(reply.user)) {
        throw new ProtocolError("login reply without a user or CSRF token");
      }
      return reply;
    },

    /**
     * Register this device for the signed-in session; returns the device and its bearer token (shown once).
     * @param {string} csrfToken from login
     * @param {{device_id: string, public_key: {kty: string, crv: string, x: string, y: string}, label?: string}} registration
     * @returns {Promise<{device: {id: string}, token: string}>}
     */
    async registerDevice(csrfToken, registration) {
      const path = "/api/devices";
      const response = await send("POST", path, {
        json: registration,
        headers: { "X-CSRF-Token": csrfToken },
        credentials: "same-origin",
      });
      const reply = await readJson(response, "POST", path);
      if (!isObject(reply) || !isObject(reply.device) || typeof reply.device.id !== "string" || typeof reply.token !== "string" || !reply.token) {
        throw new ProtocolError("registration reply without a device id or token");
      }
      return reply;
    },

    /**
     * The bureau's QR-signing public key (JWK), to check scanned codes offline.
     * @returns {Promise<{kty: string, crv: string, x: string, y: string}>}
     */
    async qrPublicKey() {
      const path = "/api/qr/public-key";
      const reply = await readJson(await send("GET", path, { credentials: "same-origin" }), "GET", path);
      if (!isObject(reply) || typeof reply.x !== "string" || typeof reply.y !== "string") {
        throw new ProtocolError("the QR public key reply is not a JWK");
      }
      return reply;
    },

    /**
     * Push a batch of outbox mutations; the reply is shape-checked (the caller checks whose it is).
     * @param {string} token the device's bearer token
     * @param {{device_id: string, schema: number, mutations: Array<object>, pull?: {cursor: string | null, limit: number}}} body
     *   `pull` asks for the pull page that follows the push (DESIGN §4): the reply's `pull`, when the server gives it.
     * @returns {Promise<{device_id: string, last_seq: number, results: Array<{seq: number, status: string, code: string | null, message: string | null, version: number | null}>, pull?: {changes: Array<object>, cursor: string, has_more: boolean, reset: boolean}}>}
     */
    async push(token, body) {
      const path = "/api/sync/push";
      const reply = await readJson(await send("POST", path, { token, json: body }), "POST", path);
      const valid = isObject(reply) && typeof reply.device_id === "string" && Number.isInteger(reply.last_seq)
        && Array.isArray(reply.results)
        && reply.results.every((r) => isObject(r) && Number.isInteger(r.seq) && typeof r.status === "string")
        && (reply.pull === undefined || isPullPage(reply.pull));
      if (!valid) throw new ProtocolError("push reply does not match the protocol");
      return reply;
    },

    /**
     * Pull one page of changes after `cursor` (none: from the start).
     * @param {string} token
     * @param {{cursor?: string | null, limit?: number}} [query]
     * @returns {Promise<{changes: Array<object>, cursor: string, has_more: boolean, reset: boolean}>}
     */
    async pull(token, { cursor = null, limit = 500 } = {}) {
      const params = new URLSearchParams({ limit: String(limit) });
      if (cursor) params.set("cursor", cursor);
      const path = `/api/sync/pull?${params}`;
      const reply = await readJson(await send("GET", path, { token }), "GET", path);
      if (!isPullPage(reply)) throw new ProtocolError("pull reply does not match the protocol");
      return reply;
    },

    /**
     * Which of these blobs the server does not hold completely.
     * @param {string} token
     * @param {string[]} sha256List at most 1000
     * @returns {Promise<string[]>}
     */
    async blobsMissing(token, sha256List) {
      const path = "/api/sync/blobs/missing";
      const reply = await readJson(await send("POST", path, { token, json: { sha256: sha256List } }), "POST", path);
      if (!isObject(reply) || !Array.isArray(reply.missing) || !reply.missing.every((s) => typeof s === "string")) {
        throw new ProtocolError("blobs/missing reply does not match the protocol");
      }
      return reply.missing;
    },

    /**
     * How many bytes of a blob the server holds, and whether it is complete and verified.
     * @param {string} token
     * @param {string} sha
     * @returns {Promise<{offset: number, complete: boolean}>}
     */
    async blobHead(token, sha) {
      checkSha(sha);
      const path = `/api/sync/blobs/${sha}`;
      let response;
      try {
        response = await send("HEAD", path, { token });
      } catch (error) {
        if (error instanceof SyncError && error.status === 404) return { offset: 0, complete: false };
        throw error;
      }
      const complete = response.headers.get("Upload-Complete");
      const offset = headerInt(response, "Upload-Offset");
      if ((complete !== "?1" && complete !== "?0") || offset === null) {
        throw new ProtocolError(`HEAD ${path}: no valid Upload-Offset / Upload-Complete headers`);
      }
      return { offset, complete: complete === "?1" };
    },

    /**
     * Upload one chunk of a blob starting at `offset`; a 409 SyncError carries the server's offset.
     * @param {string} token
     * @param {string} sha
     * @param {BufferSource} chunk
     * @param {{offset: number, length: number}} position where the chunk starts and the blob's full size
     * @returns {Promise<{sha256: string, received: number, complete: boolean}>}
     */
    async blobPut(token, sha, chunk, { offset, length }) {
      checkSha(sha);
      const path = `/api/sync/blobs/${sha}`;
      const response = await send("PUT", path, {
        token,
        body: chunk,
        headers: {
          "Content-Type": "application/offset+octet-stream",
          "Upload-Offset": String(offset),
          "Upload-Length": String(length),
        },
      });
      const reply = await readJson(response, "PUT", path);
      if (!isObject(reply) || reply.sha256 !== sha || !Number.isInteger(reply.received) || typeof reply.complete !== "boolean") {
        throw new ProtocolError(`PUT ${path}: the reply is not this blob's status`);
      }
      return reply;
    },
  };
}

/**
 * The SyncError for a non-2xx reply (its problem body when it has one, else the bare status).
 * @param {Response} response
 * @param {string} method
 * @param {string} path
 * @returns {Promise<SyncError>}
 */
export async function problemOf(response, method, path) {
  let body = null;
  try {
    body = JSON.parse(await response.text());
  } catch {
    // No JSON problem body (a proxy's page, a cut reply): the status alone speaks.
  }
  const uploadOffset = headerInt(response, "Upload-Offset");
  const retryAfter = headerInt(response, "Retry-After");
  if (isObject(body) && typeof body.code === "string") {
    const messages = isObject(body.messages) ? body.messages : {};
    return new SyncError({
      status: response.status,
      code: body.code,
      message: typeof body.message === "string" ? body.message : (messages["zh-CN"] ?? body.code),
      messages,
      details: isObject(body.details) ? body.details : {},
      uploadOffset: uploadOffset ?? (Number.isInteger(body.details?.received) ? body.details.received : null),
      retryAfter,
    });
  }
  return new SyncError({
    status: response.status,
    code: String(response.status),
    message: `${method} ${path}: HTTP ${response.status}`,
    uploadOffset,
    retryAfter,
  });
}

function headerInt(response, name) {
  const value = response.headers.get(name)?.trim();
  return value && DIGITS_RE.test(value) ? Number(value) : null;
}

function checkSha(sha) {
  // The hash goes into the URL path: anything else could address another resource.
  if (typeof sha !== "string" || !SHA256_RE.test(sha)) throw new TypeError("sha256 must be 64 lowercase hex digits");
}

/** Whether `reply` is a pull page (a pull's reply, or the one a push reply carries). */
function isPullPage(reply) {
  return isObject(reply) && Array.isArray(reply.changes) && typeof reply.cursor === "string"
    && typeof reply.has_more === "boolean" && typeof reply.reset === "boolean"
    && reply.changes.every((c) => isObject(c) && typeof c.entity === "string" && typeof c.id === "string"
      && Number.isInteger(c.version) && typeof c.deleted === "boolean");
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
