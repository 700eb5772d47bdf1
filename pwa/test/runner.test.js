import { createHash, randomUUID } from "node:crypto";

import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it, vi } from "vitest";

import { DB_NAME, openDatabase } from "../src/db/schema.js";
import {
  ackUpTo,
  getBlobBytes,
  getBlobInfo,
  getMeta,
  pendingCount,
  pendingMutations,
  putBlob,
  replicaList,
  saveRecord,
  setMeta,
  storageSummary,
} from "../src/db/store.js";
import { createApi } from "../src/sync/api.js";
import { enrolDevice } from "../src/sync/enrol.js";
import { createMemoryLocks, createRunner, cutAtSubmission } from "../src/sync/runner.js";
import { createScheduler } from "../src/sync/scheduler.js";
import { example } from "./helpers/examples.js";
import { createFakeServer } from "./helpers/fake-server.js";

const DEVICE_ID = example("push-request").device_id;
const TOKEN = "device-token-1";
const NOW = new Date("2026-06-10T04:00:00Z");
const PULL_CHANGES = example("pull-reply").changes;

function photo(size = 2500, seed = 7) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 13 + seed) % 256;
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** The example push's inspection day, saved locally as the inspector would (its photo with real bytes). */
async function recordExampleDay(db, picture = photo()) {
  await putBlob(db, { sha256: picture.sha256, bytes: picture.bytes, mime: "image/jpeg" });
  for (const m of example("push-request").mutations) {
    const data = m.entity === "photo" ? { ...m.data, sha256: picture.sha256, size: picture.bytes.length } : m.data;
    await saveRecord(db, m.entity, m.id, data, { at: m.at });
  }
  return picture;
}

async function setup({ db, server, locks = createMemoryLocks(), ...options } = {}) {
  db ??= await openDatabase(new IDBFactory());
  await setMeta(db, "device", { id: DEVICE_ID, token: TOKEN, user: { id: 12, username: "xx_insp1" } });
  server ??= createFakeServer({ deviceId: DEVICE_ID, token: TOKEN });
  const sleeps = [];
  const runner = createRunner({
    db,
    api: createApi({ fetch: server.fetch }),
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    locks,
    chunkSize: 1024,
    ...options,
  });
  return { db, server, runner, sleeps };
}

const requestsTo = (server, name) => server.requests.filter((r) => routeName(r) === name);
function routeName(r) {
  if (r.path === "/api/sync/push") return "push";
  if (r.path === "/api/sync/pull") return "pull";
  if (r.path === "/api/sync/blobs/missing") return "missing";
  return r.method === "HEAD" ? "head" : "put";
}

describe("runOnce", () => {
  it("a full run pushes the records, uploads the photo, pulls every page, and releases the photo bytes", async () => {
    const { db, server, runner } = await setup({ pullLimit: 2 });
    const picture = await recordExampleDay(db);

    const summary = await runner.runOnce();

    expect(summary).toMatchObject({ skipped: false, pushed: 6, quarantined: 0, uploaded: 1, pulled: PULL_CHANGES.length, error: null, pending: 0 });
    expect(server.violations).toEqual([]);
    // Records first, then photos, then the pull.
    expect(server.requests.map(routeName)).toEqual(["push", "missing", "put", "put", "put", "head", "pull", "pull", "pull"]);
    expect(requestsTo(server, "put").map((r) => r.offset)).toEqual([0, 1024, 2048]);
    expect([...server.applyCount.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(server.lastSeq).toBe(6);
    expect(server.rows.get("inspection:7b2e9d14-6a3f-4c8b-b5e1-0f9a3d6c2e87").data).toMatchObject({ kind: "unannounced", status: "submitted" });
    expect(Buffer.compare(server.blobs.get(picture.sha256).bytes, Buffer.from(picture.bytes))).toBe(0);

    expect(await pendingCount(db)).toBe(0);
    // The server has the bytes and the photo record: the device keeps the metadata only.
    expect(await getBlobBytes(db, picture.sha256)).toBeNull();
    expect(await getBlobInfo(db, picture.sha256)).toMatchObject({ uploaded: true, size: 2500 });
    expect((await replicaList(db, "enterprise"))[0].data.name).toBe("兴县森宇木业有限公司");
    expect(await getMeta(db, "cursor")).toBe(Buffer.from(`page:${PULL_CHANGES.length}`).toString("base64url"));
    expect(await storageSummary(db)).toMatchObject({ pendingMutations: 0, pendingBlobs: 0, lastSync: NOW.toISOString(), lastError: null });
  });

  it("the push that empties the outbox asks for the pull page that follows it, and the round pulls no more", async () => {
    const { db, server, runner } = await setup();
    await recordExampleDay(db);
    await runner.runOnce(); // photos to upload: the round pulls after them, as always
    const extra = { entity: "enterprise", id: randomUUID(), version: 1, deleted: false, data: { name: "新企业" } };
    server.changes = [...server.changes, extra]; // someone else's change, committed before the push
    server.requests.length = 0;
    await saveRecord(db, "hazard_event", randomUUID(), { hazard_id: randomUUID(), kind: "accepted", at: NOW.toISOString(), comment: null });

    const summary = await runner.runOnce();

    expect(summary).toMatchObject({ pushed: 1, pulled: 1, error: null });
    expect(server.violations).toEqual([]);
    expect(server.requests.map(routeName)).toEqual(["push"]);
    expect(server.requests[0].body.pull).toEqual({ cursor: Buffer.from(`page:${PULL_CHANGES.length}`).toString("base64url"), limit: 500 });
    expect((await replicaList(db, "enterprise")).map((r) => r.id)).toContain(extra.id);
    expect(await getMeta(db, "cursor")).toBe(Buffer.from(`page:${PULL_CHANGES.length + 1}`).toString("base64url"));
  });

  it("a page that leaves more is continued by pulls; a reply without one (an older server) is followed by a pull", async () => {
    const { db, server, runner } = await setup({ pullLimit: 2 });
    await saveRecord(db, "hazard_event", randomUUID(), { hazard_id: randomUUID(), kind: "accepted", at: NOW.toISOString(), comment: null });
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 1, pulled: PULL_CHANGES.length, error: null });
    expect(server.requests.map(routeName)).toEqual(["push", ...Array(Math.ceil(PULL_CHANGES.length / 2) - 1).fill("pull")]);

    server.pagesInPush = false;
    server.requests.length = 0;
    await saveRecord(db, "hazard_event", randomUUID(), { hazard_id: randomUUID(), kind: "accepted", at: NOW.toISOString(), comment: null });
    expect(await runner.runOnce()).toMatchObject({ pushed: 1, error: null });
    expect(server.requests.map(routeName)).toEqual(["push", "pull"]);
    expect(server.violations).toEqual([]);
  });

  it("a batch that leaves mutations behind asks for no page", async () => {
    const { db, server, runner } = await setup({ batchSize: 2 });
    for (let i = 0; i < 3; i += 1) {
      await saveRecord(db, "hazard_event", randomUUID(), { hazard_id: randomUUID(), kind: "accepted", at: NOW.toISOString(), comment: null });
    }
    expect(await runner.runOnce()).toMatchObject({ pushed: 3, pulled: PULL_CHANGES.length, error: null });
    expect(requestsTo(server, "push").map((r) => "pull" in r.body)).toEqual([false, true]);
    expect(server.requests.map(routeName)).toEqual(["push", "push"]);
  });

  it("a full batch ends after an inspection's submission when half of it stays: the inspection arrives whole", async () => {
    const { db, server, runner } = await setup({ batchSize: 4 });
    const event = () => saveRecord(db, "hazard_event", randomUUID(), { hazard_id: randomUUID(), kind: "accepted", at: NOW.toISOString(), comment: null });
    await event();
    await event();
    await saveRecord(db, "inspection", randomUUID(), { status: "submitted", finished_at: NOW.toISOString() });
    for (let i = 0; i < 3; i += 1) await event();
    expect(await runner.runOnce()).toMatchObject({ pushed: 6, error: null });
    const pushed = requestsTo(server, "push").map((r) => r.body.mutations.map((m) => m.entity));
    expect(pushed).toEqual([["hazard_event", "hazard_event", "inspection"], ["hazard_event", "hazard_event", "hazard_event"]]);
    expect(await pendingCount(db)).toBe(0);
  });

  it("cutAtSubmission keeps a batch whole when it is not full or has no submission in its second half", () => {
    const submit = { entity: "inspection", data: { status: "submitted" } };
    const draft = { entity: "inspection", data: { status: "draft" } };
    const other = { entity: "hazard", data: { status: "submitted" } };
    expect(cutAtSubmission([other, submit, other], 4)).toEqual([other, submit, other]);
    expect(cutAtSubmission([submit, other, other, other], 4)).toEqual([submit, other, other, other]);
    expect(cutAtSubmission([other, submit, other, other], 4)).toEqual([other, submit]);
    expect(cutAtSubmission([other, other, draft, other], 4)).toEqual([other, other, draft, other]);
    expect(cutAtSubmission([other, other, other, { entity: "inspection", data: null, op: "delete" }], 4)).toHaveLength(4);
  });

  it("a lost push reply is retried: the server reports duplicates, nothing is applied twice, the outbox empties once", async () => {
    const { db, server, runner, sleeps } = await setup();
    await recordExampleDay(db);
    server.fail("push", "lost-reply");

    const summary = await runner.runOnce();

    expect(summary).toMatchObject({ pushed: 6, duplicates: 6, error: null });
    expect(requestsTo(server, "push")).toHaveLength(2);
    expect([...server.applyCount.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(sleeps).toEqual([750]);
    expect(await pendingCount(db)).toBe(0);

    const again = await runner.runOnce();
    expect(again.pushed).toBe(0);
    expect(requestsTo(server, "push")).toHaveLength(2);
    expect(server.violations).toEqual([]);
  });

  it("a push reply naming another device is not trusted: nothing is dropped until a reply for this device comes", async () => {
    const { db, server, runner } = await setup({ maxAttempts: 3 });
    await recordExampleDay(db);
    const before = await pendingMutations(db);
    server.replyDeviceId = randomUUID();

    const summary = await runner.runOnce();

    expect(summary.pushed).toBe(0);
    expect(summary.error).toMatchObject({ code: "protocol", reauth: false });
    expect(summary.error.message).toMatch(/服务器的回复无法确认/);
    expect(requestsTo(server, "push")).toHaveLength(3);
    expect(await pendingMutations(db)).toEqual(before);
    expect((await getMeta(db, "lastError")).code).toBe("protocol");
    expect(await getMeta(db, "lastSync")).toBeUndefined();

    server.replyDeviceId = null;
    const healed = await runner.runOnce();
    expect(healed).toMatchObject({ pushed: 6, duplicates: 6, error: null });
    expect(await pendingCount(db)).toBe(0);
    expect(await getMeta(db, "lastError")).toBeNull();
  });

  it("a 409 on upload continues from the server's Upload-Offset", async () => {
    const { db, server, runner, sleeps } = await setup();
    const picture = await recordExampleDay(db);
    // An earlier attempt's bytes reached the server, but its reply never came back.
    server.blobs.set(picture.sha256, { bytes: Buffer.from(picture.bytes.slice(0, 1500)), complete: false });

    const summary = await runner.runOnce();

    expect(summary).toMatchObject({ uploaded: 1, error: null });
    const puts = requestsTo(server, "put");
    expect(puts.map((r) => [r.offset, r.status])).toEqual([[0, 409], [1500, 200]]);
    expect(puts[0].headers["upload-length"]).toBe("2500");
    expect(server.blobs.get(picture.sha256).complete).toBe(true);
    expect(Buffer.compare(server.blobs.get(picture.sha256).bytes, Buffer.from(picture.bytes))).toBe(0);
    expect(sleeps).toEqual([]);
    expect(server.violations).toEqual([]);
  });

  it("a 422.40 (bytes did not match the hash) restarts the upload from 0", async () => {
    const { db, server, runner } = await setup();
    const picture = await recordExampleDay(db);
    server.fail("put", "corrupt");

    const summary = await runner.runOnce();

    expect(summary).toMatchObject({ uploaded: 1, rejected: 0, error: null });
    expect(requestsTo(server, "put").map((r) => [r.offset, r.status])).toEqual([
      [0, 200], [1024, 200], [2048, 422], [0, 200], [1024, 200], [2048, 200],
    ]);
    expect(Buffer.compare(server.blobs.get(picture.sha256).bytes, Buffer.from(picture.bytes))).toBe(0);
    expect((await getBlobInfo(db, picture.sha256)).uploaded).toBe(true);
  });

  it("a lost upload reply is followed by a HEAD, and the upload resumes where the server is", async () => {
    const { db, server, runner, sleeps } = await setup();
    const picture = await recordExampleDay(db);
    server.fail("put", undefined, "lost-reply");

    const summary = await runner.runOnce();

    expect(summary).toMatchObject({ uploaded: 1, error: null });
    expect(server.requests.filter((r) => ["head", "put"].includes(routeName(r))).map((r) => `${r.method} ${r.offset ?? ""}`.trim()))
      .toEqual(["PUT 0", "PUT 1024", "HEAD", "PUT 2048", "HEAD"]); // the last HEAD checks before freeing the bytes
    expect(sleeps).toHaveLength(1);
    expect(server.blobs.get(picture.sha256).complete).toBe(true);
  });

  it("a photo the server refuses for good (415) is set aside with its code, keeps its bytes, and blocks nothing", async () => {
    const { db, server, runner } = await setup();
    const picture = await recordExampleDay(db);
    server.fail("put", "415");
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 6, uploaded: 0, rejected: 1, pulled: PULL_CHANGES.length, error: null });
    expect(await getBlobInfo(db, picture.sha256)).toMatchObject({ rejected: "415.40", hasBytes: true });
    expect((await storageSummary(db)).rejectedBlobs).toBe(1);
    expect(requestsTo(server, "put")).toHaveLength(1);
  });

  it("a blob the server already holds is confirmed by HEAD, not sent again", async () => {
    const { db, server, runner } = await setup();
    const picture = await recordExampleDay(db);
    server.blobs.set(picture.sha256, { bytes: Buffer.from(picture.bytes), complete: true });

    const summary = await runner.runOnce();

    expect(summary.uploaded).toBe(1);
    expect(requestsTo(server, "head")).toHaveLength(1);
    expect(requestsTo(server, "put")).toHaveLength(0);
    expect(await getBlobBytes(db, picture.sha256)).toBeNull();
  });

  it("a 401 stops the run at once with a Chinese 'sign in again' lastError; nothing is lost", async () => {
    const { db, server, runner, sleeps } = await setup();
    await recordExampleDay(db);
    server.fail("push", "401");

    const summary = await runner.runOnce();

    expect(summary.error).toMatchObject({ reauth: true, status: 401, code: "401.2" });
    const lastError = await getMeta(db, "lastError");
    expect(lastError.message).toMatch(/需要重新登录/);
    expect(lastError.detail).toBe("此设备的令牌已被吊销，请重新登录注册设备。");
    expect(lastError.messages).toEqual({ "zh-CN": lastError.message, en: expect.stringMatching(/^Sign in again/) });
    expect(server.requests.map(routeName)).toEqual(["push"]);
    expect(sleeps).toEqual([]);
    expect(await pendingCount(db)).toBe(6);
    expect((await storageSummary(db)).pendingBlobs).toBe(1);
  });

  it("a device never registered does not call the server and asks for a sign-in", async () => {
    const { db, server, runner } = await setup();
    await setMeta(db, "device", null);
    const summary = await runner.runOnce();
    expect(summary.error.reauth).toBe(true);
    expect(server.requests).toEqual([]);
  });

  it("transient failures back off exponentially with jitter, then succeed", async () => {
    const { db, server, runner, sleeps } = await setup({ baseDelayMs: 1000 });
    await recordExampleDay(db);
    server.fail("push", "503", "network");
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 6, error: null });
    // Equal jitter with random() = 0.5: half the delay plus a quarter of it.
    expect(sleeps).toEqual([750, 1500]);
  });

  it("when every attempt fails the run gives up offline, keeps everything, and says so in Chinese", async () => {
    const { db, server, runner, sleeps } = await setup({ maxAttempts: 4 });
    await recordExampleDay(db);
    server.fail("push", "network", "network", "network", "network");
    const summary = await runner.runOnce();
    expect(summary.error).toMatchObject({ code: "network", offline: true });
    expect(summary.error.message).toMatch(/无法连接服务器/);
    expect(sleeps).toHaveLength(3);
    // Offline: the uploads and the pull are not even tried.
    expect(server.requests.map(routeName)).toEqual(["push", "push", "push", "push"]);
    expect(await pendingCount(db)).toBe(6);
  });

  it("a gap on the server leaves the rest queued; the pull still runs", async () => {
    const { db, server, runner } = await setup();
    // Seqs 1–2 were acknowledged by a server that later lost them (restored from an older backup).
    await setMeta(db, "nextSeq", 3);
    await recordExampleDay(db);
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 0, stalled: true, pulled: PULL_CHANGES.length });
    expect(summary.error).toMatchObject({ code: "stalled" });
    expect((await getMeta(db, "lastError")).message).toMatch(/应从第 1 条开始/);
    expect(await pendingCount(db)).toBe(6);
    expect(server.applyCount.size).toBe(0);
  });

  it("a quarantined mutation is counted and dropped; it does not block the queue", async () => {
    const { db, runner } = await setup();
    await saveRecord(db, "hazard", randomUUID(), { level: "general" });
    await saveRecord(db, "signature", randomUUID(), { by: "张建国" });
    await saveRecord(db, "hazard", randomUUID(), { level: "major" });
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 3, quarantined: 1, error: { code: "quarantined" } });
    expect(summary.problems).toEqual([expect.objectContaining({ seq: 2, status: "quarantined", code: "422.42" })]);
    expect(await pendingCount(db)).toBe(0);
  });

  it("a 413 halves the batch until the server takes it", async () => {
    const { db, server, runner } = await setup();
    server.maxMutations = 2;
    await recordExampleDay(db);
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 6, error: null });
    expect([...server.applyCount.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(await pendingCount(db)).toBe(0);
  });

  it("an unknown cursor (400.41) resyncs the replica from the start", async () => {
    const { db, server, runner } = await setup();
    await setMeta(db, "cursor", "not-ours");
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pulled: PULL_CHANGES.length, error: null });
    expect(requestsTo(server, "pull").map((r) => r.query.cursor ?? null)).toEqual(["not-ours", null]);
  });
});

describe("enrolDevice", () => {
  function authServer() {
    const calls = [];
    const users = { insp1: { id: 12, username: "insp1", display_name: "张建国" }, insp2: { id: 13, username: "insp2" } };
    const fetch = async (url, init) => {
      const body = JSON.parse(init.body);
      calls.push({ url, init, body });
      if (init.credentials !== "same-origin") throw new Error("a session call must send the session cookie");
      if (url === "/api/auth/login") {
        const user = users[body.username];
        if (!user || body.password !== "secret") {
          return new Response(JSON.stringify({ code: "401.3", message: "用户名或密码错误。", messages: { "zh-CN": "用户名或密码错误。", en: "Wrong user name or password." } }), { status: 401 });
        }
        return new Response(JSON.stringify({ user, csrf_token: "csrf-1" }), { status: 200 });
      }
      if (url === "/api/devices" && init.headers["X-CSRF-Token"] === "csrf-1") {
        return new Response(JSON.stringify({ device: { id: body.device_id, label: body.label ?? null, last_seq: 0 }, token: `token-for-${body.device_id}` }), { status: 201 });
      }
      return new Response("{}", { status: 403 });
    };
    return { fetch, calls };
  }

  it("registers with a P-256 public key, keeps the private key non-extractable, and keeps the id on re-registration", async () => {
    const db = await openDatabase(new IDBFactory());
    const server = authServer();
    const api = createApi({ fetch: server.fetch });
    const { device } = await enrolDevice({ db, api, username: "insp1", password: "secret", label: "平板 3 号" });

    const registration = server.calls[1].body;
    expect(Object.keys(registration).sort()).toEqual(["device_id", "label", "public_key"]);
    expect(Object.keys(registration.public_key).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(registration.public_key).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(device).toEqual({ id: registration.device_id, token: `token-for-${registration.device_id}`, user: expect.objectContaining({ id: 12 }) });
    expect(await getMeta(db, "device")).toEqual(device);
    const keys = await getMeta(db, "deviceKey");
    expect(keys.privateKey.extractable).toBe(false);

    await setMeta(db, "lastError", { code: "401.2", reauth: true });
    const again = await enrolDevice({ db, api, username: "insp1", password: "secret" });
    expect(again.device.id).toBe(device.id);
    expect(server.calls[3].body.public_key).toEqual(registration.public_key);
    expect(await getMeta(db, "lastError")).toBeNull();
  });

  it("a wrong password is a SyncError with the server's Chinese message, and registers nothing", async () => {
    const db = await openDatabase(new IDBFactory());
    const api = createApi({ fetch: authServer().fetch });
    await expect(enrolDevice({ db, api, username: "insp1", password: "nope" })).rejects.toMatchObject({ status: 401, code: "401.3", message: "用户名或密码错误。" });
    expect((await getMeta(db, "device"))?.token ?? null).toBeNull();
  });

  it("another user gets a new device id and fresh numbering, but not while the previous user's records are unsynced", async () => {
    const db = await openDatabase(new IDBFactory());
    const api = createApi({ fetch: authServer().fetch });
    const first = (await enrolDevice({ db, api, username: "insp1", password: "secret" })).device;
    await saveRecord(db, "hazard", randomUUID(), {});

    await expect(enrolDevice({ db, api, username: "insp2", password: "secret" })).rejects.toMatchObject({ code: "local.user_switch" });
    expect(await getMeta(db, "device")).toEqual(first);

    await ackUpTo(db, 1);
    const second = (await enrolDevice({ db, api, username: "insp2", password: "secret" })).device;
    expect(second.id).not.toBe(first.id);
    expect(second.user.id).toBe(13);
    expect((await saveRecord(db, "hazard", randomUUID(), {})).seq).toBe(1);
  });
});

describe("createScheduler", () => {
  it("coalesces kicks made during a round into one more round, and re-arms the periodic timer", async () => {
    let release;
    const runOnce = vi.fn(() => new Promise((resolve) => (release = () => resolve({ skipped: false }))));
    const timers = [];
    const results = [];
    const scheduler = createScheduler({ runOnce }, {
      intervalMs: 60000,
      setTimer: (fn, ms) => timers.push({ fn, ms }) && timers.length,
      clearTimer: () => {},
      onResult: (summary) => results.push(summary),
    });

    const done = scheduler.start();
    expect(scheduler.busy).toBe(true);
    scheduler.kick();
    scheduler.kick();
    release();
    await vi.waitFor(() => expect(runOnce).toHaveBeenCalledTimes(2));
    release();
    await done;
    expect(runOnce).toHaveBeenCalledTimes(2);
    expect(results).toHaveLength(2);
    expect(scheduler.busy).toBe(false);
    expect(timers.map((t) => t.ms)).toEqual([60000]);

    scheduler.stop();
    const periodic = timers[0].fn();
    release();
    await periodic;
    expect(runOnce).toHaveBeenCalledTimes(3);
    // Stopped: no timer is armed after that round.
    expect(timers).toHaveLength(1);
  });
});

describe("issue 11: stale batches, dropped requests, quarantine shown, bytes freed only after a true check", () => {
  it("a change saved while a push is retried travels in the retried push (the outbox is re-read)", async () => {
    let db;
    const submitId = randomUUID();
    const { server, runner, db: opened } = await setup({
      sleep: async () => {
        // The inspector submits while the first push waits to be retried.
        if (!(await pendingMutations(db, 100)).some((m) => m.id === submitId)) {
          await saveRecord(db, "inspection", submitId, { status: "submitted" });
        }
      },
    });
    db = opened;
    await recordExampleDay(db);
    server.fail("push", "503");
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 7, error: null });
    // One failed attempt, then one push with everything: never the stale 1–6 then the submit alone.
    expect(requestsTo(server, "push")).toHaveLength(2);
    expect(server.lastSeq).toBe(7);
  });

  it("a sync asked for while one runs is queued and runs after it, carrying what was saved meanwhile", async () => {
    const { db, server, runner } = await setup();
    await recordExampleDay(db);
    let open;
    server.pullGate = new Promise((resolve) => (open = resolve));
    const first = runner.runOnce();
    // The first round has pushed and is pulling when the inspector saves and asks for a sync.
    await vi.waitFor(() => expect(requestsTo(server, "pull")).toHaveLength(1));
    await saveRecord(db, "hazard", randomUUID(), { level: "general" });
    const second = runner.runOnce();
    const third = runner.runOnce(); // coalesced with the second
    expect(third).toBe(second);
    server.pullGate = null;
    open();
    expect(await first).toMatchObject({ pushed: 6 });
    expect(await second).toMatchObject({ skipped: false, pushed: 1 });
    expect(await pendingCount(db)).toBe(0);
  });

  it("another tab's runner waits for the lock instead of dropping the request", async () => {
    const locks = createMemoryLocks();
    const factory = new IDBFactory();
    const tabA = await setup({ db: await openDatabase(factory, DB_NAME), locks });
    const tabB = await setup({ db: await openDatabase(factory, DB_NAME), locks, server: tabA.server });
    await recordExampleDay(tabA.db);
    let open;
    tabA.server.pullGate = new Promise((resolve) => (open = resolve));
    const first = tabA.runner.runOnce();
    await vi.waitFor(() => expect(requestsTo(tabA.server, "pull")).toHaveLength(1));
    await saveRecord(tabB.db, "hazard", randomUUID(), { level: "general" });
    const second = tabB.runner.runOnce();
    tabA.server.pullGate = null;
    open();
    expect(await first).toMatchObject({ pushed: 6 });
    expect(await second).toMatchObject({ skipped: false, pushed: 1 });
  });

  it("a quarantined mutation is kept with its reason (Chinese first) and what to do; the run is no plain success", async () => {
    const { db, runner } = await setup();
    await saveRecord(db, "hazard", randomUUID(), { level: "general" });
    const odd = randomUUID();
    await saveRecord(db, "signature", odd, { by: "张建国" });
    const summary = await runner.runOnce();
    expect(summary).toMatchObject({ pushed: 2, quarantined: 1 });
    expect(summary.error).toMatchObject({ code: "quarantined" });
    expect(summary.error.message).toMatch(/1 条记录被服务器拒收/);
    const kept = await getMeta(db, "quarantined");
    expect(kept).toEqual([expect.objectContaining({ seq: 2, entity: "signature", id: odd, code: "422.42" })]);
    expect(kept[0].messages["zh-CN"]).toMatch(/应用版本/);
    expect(kept[0].todo["zh-CN"]).toMatch(/更新/);
    expect(kept[0].detail).toBe("Unknown entity 'signature'.");
    expect((await getMeta(db, "lastError")).code).toBe("quarantined");
    // A later clean run clears the banner but not the list: only the inspector dismisses it.
    const later = await runner.runOnce();
    expect(later.error).toBeNull();
    expect(await getMeta(db, "quarantined")).toHaveLength(1);
  });

  it("bytes are freed only after a HEAD made once the photo record is acknowledged says complete", async () => {
    const { db, server, runner } = await setup();
    const picture = await recordExampleDay(db);
    server.fail("put", "none", "none", "half-accepted"); // the last chunk's reply says complete; a restart undid it
    await runner.runOnce();
    // The fresh HEAD saw the truth: the bytes stay and are offered again.
    expect(await getBlobBytes(db, picture.sha256)).not.toBeNull();
    expect((await getBlobInfo(db, picture.sha256)).uploaded).toBe(false);
    const healed = await runner.runOnce();
    expect(healed).toMatchObject({ uploaded: 1, error: null });
    expect(server.blobs.get(picture.sha256).complete).toBe(true);
    expect(await getBlobBytes(db, picture.sha256)).toBeNull();
  });

  it("summary tells whether anything still waits (for the scheduler's retries)", async () => {
    const { db, server, runner } = await setup({ maxAttempts: 1 });
    await recordExampleDay(db);
    server.fail("put", "network");
    const summary = await runner.runOnce();
    expect(summary.pending).toBe(0);
    expect(summary.waiting).toBe(true);
    expect((await runner.runOnce()).waiting).toBe(false);
  });
});

describe("createScheduler retries", () => {
  it("retries with backoff while changes wait and the app is online, back to the period once all is sent", async () => {
    const replies = [
      { waiting: true, error: { offline: false } },
      { waiting: true, error: null },
      { waiting: true, error: null },
      { waiting: false, error: null },
    ];
    const runOnce = vi.fn(async () => replies.shift());
    const timers = [];
    let online = true;
    const scheduler = createScheduler({ runOnce }, {
      intervalMs: 300000, retryBaseMs: 5000, retryMaxMs: 120000, isOnline: () => online,
      setTimer: (fn, ms) => timers.push({ fn, ms }) && timers.length,
      clearTimer: () => {},
    });
    await scheduler.start();
    await timers.at(-1).fn();
    await timers.at(-1).fn();
    await timers.at(-1).fn();
    expect(timers.map((t) => t.ms)).toEqual([5000, 10000, 20000, 300000]);
    // Offline: no retry timer burns the battery; the `online` event kicks instead.
    online = false;
    replies.push({ waiting: true, error: { offline: true } });
    await scheduler.kick();
    expect(timers.at(-1).ms).toBe(300000);
  });

  it("a sign-in problem is not retried on a short schedule", async () => {
    const runOnce = vi.fn(async () => ({ waiting: true, error: { reauth: true } }));
    const timers = [];
    const scheduler = createScheduler({ runOnce }, {
      intervalMs: 300000, isOnline: () => true, setTimer: (fn, ms) => timers.push({ fn, ms }) && timers.length,
      clearTimer: () => {},
    });
    await scheduler.start();
    expect(timers.map((t) => t.ms)).toEqual([300000]);
  });
});

describe("progress as it happens (issue 15 item 8)", () => {
  it("reports after each acknowledged batch and each photo, so the counts fall as they go", async () => {
    const seen = [];
    let db;
    const { runner, db: opened } = await setup({
      batchSize: 2,
      onProgress: async () => seen.push((await storageSummary(db)).pendingMutations),
    });
    db = opened;
    await recordExampleDay(db);
    await runner.runOnce();
    await vi.waitFor(() => expect(seen.length).toBe(4));
    expect(seen.slice(0, 3)).toEqual([4, 2, 0]);
  });
});
