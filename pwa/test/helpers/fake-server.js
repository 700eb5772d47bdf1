// A fake sync server as a `fetch` function. Its replies are built from the canonical example messages
// (sync/examples) and checked against them; every request the client sends is checked against the example
// request shapes too, and any mismatch is kept in `violations` for the tests to assert empty.
//
// It follows the server's rules (sync/engine.py, sync/blob_views.py): seq ≤ last_seq is a duplicate,
// last_seq + 1 is applied (or quarantined when its entity is unknown), anything after a gap is not processed;
// uploads must continue at the received offset and are verified against their SHA-256 on completion.

import { createHash } from "node:crypto";

import { example, shapeErrors } from "./examples.js";

const ENTITIES = new Set(["inspection", "item_result", "hazard", "photo", "hazard_event"]);

/**
 * @param {{deviceId: string, token: string, changes?: object[]}} options
 */
export function createFakeServer({ deviceId, token, changes = example("pull-reply").changes }) {
  const server = {
    deviceId,
    token,
    lastSeq: 0,
    /** Each seq's mutation as first applied (or quarantined), and how many times each seq was applied. */
    ledger: new Map(),
    applyCount: new Map(),
    quarantine: [],
    /** Entity rows as the server holds them, keyed "entity:id". */
    rows: new Map(),
    changes,
    /** Blob bytes by sha256: {bytes: Buffer, complete: boolean}. */
    blobs: new Map(),
    requests: [],
    violations: [],
    /** Per-route queues of one-shot faults: "lost-reply", "network", "503", "401", "415", "corrupt", and on put
     * "half-accepted" (answers complete, then a restart undoes the acceptance: bytes and row gone). */
    faults: { push: [], pull: [], missing: [], head: [], put: [] },
    /** Set to answer every push for another device (a confused proxy). */
    replyDeviceId: null,
    /** Set to make push hold its reply until the promise resolves. */
    gate: null,
    /** Set to make pull hold its reply until the promise resolves. */
    pullGate: null,
    maxMutations: 1000,
    /** Whether a push that asks for the pull page that follows it gets it (false: a server from before). */
    pagesInPush: true,
    fail(route, ...kinds) {
      server.faults[route].push(...kinds);
    },
    fetch: (url, init = {}) => handle(server, url, init),
  };
  return server;
}

function problem(status, code, zh, en, details = {}, headers = {}) {
  const body = example("error");
  body.code = code;
  body.message = zh;
  body.messages = { "zh-CN": zh, en };
  body.details = details;
  return json(status, body, headers);
}

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

function check(server, what, actual, expected) {
  for (const error of shapeErrors(actual, expected)) server.violations.push(`${what}: ${error}`);
}

async function handle(server, url, init) {
  const parsed = new URL(url, "http://server.test");
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  const route = routeOf(method, parsed.pathname);
  const entry = { method, path: parsed.pathname, query: Object.fromEntries(parsed.searchParams), headers: Object.fromEntries(headers) };
  if (route?.name === "push") entry.body = JSON.parse(init.body);
  server.requests.push(entry);
  if (!route) return problem(404, "404.1", "找不到请求的资源。", "The requested resource was not found.");

  const fault = server.faults[route.name]?.shift();
  if (fault === "network") throw new TypeError("Failed to fetch");
  if (fault === "503") return problem(503, "503.1", "服务器维护中。", "Under maintenance.", {}, { "Retry-After": "0" });
  if (fault === "415") return problem(415, "415.40", "不是允许的图片格式。", "Not an allowed image.");
  if (fault === "401" || headers.get("Authorization") !== `Bearer ${server.token}`) {
    return problem(401, "401.2", "此设备的令牌已被吊销，请重新登录注册设备。", "This device's token was revoked; sign in again.");
  }
  if (init.credentials !== "omit") server.violations.push(`${method} ${parsed.pathname}: sent with credentials ${init.credentials}`);

  let reply;
  if (route.name === "push") reply = await push(server, JSON.parse(init.body));
  else if (route.name === "pull") {
    if (server.pullGate) await server.pullGate;
    reply = pull(server, parsed.searchParams);
  }
  else if (route.name === "missing") reply = missing(server, JSON.parse(init.body));
  else if (route.name === "head") reply = head(server, route.sha);
  else reply = put(server, route.sha, headers, new Uint8Array(init.body), fault === "corrupt");
  if (fault === "half-accepted" && route.name === "put") server.blobs.delete(route.sha);
  entry.status = reply.status;
  // The server acted; the reply never reaches the client.
  if (fault === "lost-reply") throw new TypeError("network connection lost");
  return reply;
}

function routeOf(method, path) {
  if (method === "POST" && path === "/api/sync/push") return { name: "push" };
  if (method === "GET" && path === "/api/sync/pull") return { name: "pull" };
  if (method === "POST" && path === "/api/sync/blobs/missing") return { name: "missing" };
  const blob = /^\/api\/sync\/blobs\/([0-9a-f]{64})$/.exec(path);
  if (blob && method === "HEAD") return { name: "head", sha: blob[1] };
  if (blob && method === "PUT") return { name: "put", sha: blob[1] };
  return null;
}

async function push(server, body) {
  check(server, "push request", body, example("pull" in body ? "push-request-with-pull" : "push-request"));
  if (body.device_id !== server.deviceId) {
    return problem(403, "403.40", "推送的设备 ID 与令牌所属设备不符。", "The pushed device id does not match the device of the token.");
  }
  if (body.mutations.length > server.maxMutations) {
    return problem(413, "413.2", "一次最多推送的变更过多，请分批推送。", "Too many mutations; split the batch.",
      { limit: server.maxMutations, count: body.mutations.length });
  }
  const results = [];
  let next = server.lastSeq + 1;
  let gap = false;
  for (const m of [...body.mutations].sort((a, b) => a.seq - b.seq)) {
    const result = { seq: m.seq, status: "", code: null, message: null, version: null };
    if (m.seq <= server.lastSeq) {
      result.status = "duplicate";
      if (JSON.stringify(server.ledger.get(m.seq)) !== JSON.stringify(m)) {
        result.code = "409.41";
        result.message = "seq reused with other content";
      }
    } else if (!gap && m.seq === next) {
      server.ledger.set(m.seq, m);
      next += 1;
      if (ENTITIES.has(m.entity)) {
        server.applyCount.set(m.seq, (server.applyCount.get(m.seq) ?? 0) + 1);
        const key = `${m.entity}:${m.id}`;
        const row = server.rows.get(key) ?? { version: 0, data: {} };
        server.rows.set(key, { version: row.version + 1, data: { ...row.data, ...m.data } });
        result.status = "applied";
        result.version = row.version + 1;
      } else {
        server.quarantine.push(m);
        result.status = "quarantined";
        result.code = "422.42";
        result.message = `Unknown entity '${m.entity}'.`;
      }
    } else {
      gap = true;
      result.status = "not_processed";
      result.message = `gap: expected seq ${next}`;
    }
    results.push(result);
  }
  server.lastSeq = next - 1;
  if (server.gate) await server.gate;
  const reply = example("push-reply");
  reply.device_id = server.replyDeviceId ?? server.deviceId;
  reply.last_seq = server.lastSeq;
  reply.results = results;
  check(server, "push reply", reply, example("push-reply"));
  // The page a pull made now would answer; none when that pull would fail (the device then pulls, and hears why).
  const page = body.pull && server.pagesInPush ? pageAfter(server, body.pull.cursor, body.pull.limit) : null;
  if (page) reply.pull = page;
  return json(200, reply);
}

function pageAfter(server, cursor, limit) {
  let start = 0;
  if (cursor) {
    const match = /^page:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString());
    if (!match) return null;
    start = Number(match[1]);
  }
  const page = server.changes.slice(start, start + limit);
  const end = start + page.length;
  const reply = example("pull-reply");
  reply.changes = page;
  reply.cursor = Buffer.from(`page:${end}`).toString("base64url");
  reply.has_more = end < server.changes.length;
  reply.reset = !cursor;
  check(server, "pull reply", reply, example("pull-reply"));
  return reply;
}

function pull(server, params) {
  const reply = pageAfter(server, params.get("cursor"), Number(params.get("limit") ?? 500));
  if (!reply) return problem(400, "400.41", "同步游标无效，请从头同步。", "The sync cursor is invalid; resync from the start.");
  return json(200, reply);
}

function missing(server, body) {
  check(server, "blobs/missing request", body, example("blob-missing-request"));
  const reply = example("blob-missing-reply");
  reply.missing = [...new Set(body.sha256)].filter((sha) => !server.blobs.get(sha)?.complete);
  check(server, "blobs/missing reply", reply, example("blob-missing-reply"));
  return json(200, reply);
}

function head(server, sha) {
  const blob = server.blobs.get(sha);
  return new Response(null, {
    status: 200,
    headers: { "Upload-Offset": String(blob?.bytes.length ?? 0), "Upload-Complete": blob?.complete ? "?1" : "?0" },
  });
}

function put(server, sha, headers, chunk, corrupt) {
  const offsetHeader = headers.get("Upload-Offset");
  const lengthHeader = headers.get("Upload-Length");
  if (!/^\d+$/.test(offsetHeader ?? "") || !/^\d+$/.test(lengthHeader ?? "")) {
    server.violations.push(`PUT ${sha}: Upload-Offset ${offsetHeader}, Upload-Length ${lengthHeader}`);
    return problem(400, "400.2", "请求字段有误：Upload-Offset", "Some fields of the request are invalid: Upload-Offset");
  }
  const offset = Number(offsetHeader);
  const length = Number(lengthHeader);
  server.requests.at(-1).offset = offset;
  const blob = server.blobs.get(sha) ?? { bytes: Buffer.alloc(0), complete: false };
  if (!blob.complete) {
    if (offset !== blob.bytes.length) {
      const received = blob.bytes.length;
      return problem(409, "409.40", `上传位置不符：服务器已收到 ${received} 字节，本次从 ${offset} 开始。`,
        `Upload offset mismatch: the server has ${received} bytes, this chunk starts at ${offset}.`,
        { received, offset }, { "Upload-Offset": String(received) });
    }
    const stored = Buffer.from(chunk);
    if (corrupt && stored.length > 0) stored[0] ^= 0xff;
    blob.bytes = Buffer.concat([blob.bytes, stored]);
    server.blobs.set(sha, blob);
    if (blob.bytes.length >= length) {
      if (createHash("sha256").update(blob.bytes).digest("hex") !== sha) {
        server.blobs.delete(sha);
        return problem(422, "422.40", "照片内容与其 SHA-256 不符，已丢弃，请从头上传。",
          "The bytes do not match the SHA-256; discarded, upload again from 0.");
      }
      blob.complete = true;
    }
  }
  const reply = example("blob-status");
  reply.sha256 = sha;
  reply.received = blob.bytes.length;
  reply.complete = blob.complete;
  check(server, "blob status", reply, example("blob-status"));
  return json(200, reply, { "Upload-Offset": String(blob.bytes.length) });
}
