import { createHash, randomUUID } from "node:crypto";

import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";

import { DB_NAME, STORES, openDatabase } from "../src/db/schema.js";
import {
  ackUpTo,
  applyPullPage,
  blobsToUpload,
  deleteUploadedBlobBytes,
  getBlobBytes,
  getBlobInfo,
  getMeta,
  markBlobRejected,
  markBlobUploaded,
  pendingCount,
  pendingMutations,
  putBlob,
  recordGet,
  recordList,
  releaseBlobsAckedUpTo,
  replicaGet,
  replicaList,
  resetReplica,
  saveRecord,
  setMeta,
  startNewDevice,
  storageSummary,
} from "../src/db/store.js";
import { example, shapeErrors } from "./helpers/examples.js";

const AT = new Date("2026-06-10T02:05:18Z");

function photoBytes(seed, size = 3000) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) % 251;
  return bytes;
}

function sha(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

async function savePhoto(db, bytes) {
  const hash = sha(bytes);
  await putBlob(db, { sha256: hash, bytes, mime: "image/jpeg" });
  const saved = await saveRecord(db, "photo", randomUUID(), { sha256: hash, mime: "image/jpeg", size: bytes.length }, { at: AT });
  return { hash, seq: saved.seq };
}

let factory;
let db;

beforeEach(async () => {
  factory = new IDBFactory();
  db = await openDatabase(factory);
});

describe("saveRecord: record and outbox in one transaction", () => {
  it("writes the record and a mutation shaped like the protocol's", async () => {
    const id = randomUUID();
    const { seq, mutation } = await saveRecord(db, "item_result", id, { result: "compliant", answered_at: AT }, { at: AT });
    expect(seq).toBe(1);
    const [queued] = await pendingMutations(db);
    expect(queued).toEqual(mutation);
    expect(queued).toEqual({
      seq: 1, entity: "item_result", id, op: "upsert", base_version: null,
      data: { result: "compliant", answered_at: "2026-06-10T02:05:18.000Z" }, at: "2026-06-10T02:05:18.000Z",
    });
    const wire = example("push-request").mutations[0];
    expect(shapeErrors(queued, wire)).toEqual([]);
    expect(await recordGet(db, "item_result", id)).toMatchObject({ entity: "item_result", id, deleted: false, seq: 1, data: queued.data });
  });

  it("if the transaction aborts, neither the record nor the mutation is written", async () => {
    // An entry already at the next seq (frozen): the record is written first, then the outbox add() fails,
    // and the record must be rolled back with it.
    await db.put(STORES.outbox, { seq: 1, entity: "hazard", id: randomUUID(), op: "upsert", base_version: null, data: {}, at: AT.toISOString() });
    const id = randomUUID();
    await expect(saveRecord(db, "hazard", id, { level: "major" })).rejects.toThrow();
    expect(await recordGet(db, "hazard", id)).toBeUndefined();
    expect(await pendingCount(db)).toBe(1);
    expect(await getMeta(db, "nextSeq")).toBeUndefined();
  });

  it("refuses what the server would refuse, before writing anything", async () => {
    await expect(saveRecord(db, "hazard", "not-a-uuid", {})).rejects.toThrow(/UUID/);
    await expect(saveRecord(db, "hazard", randomUUID(), { x: Number.NaN })).rejects.toThrow(/finite/);
    await expect(saveRecord(db, "hazard", randomUUID(), {}, { op: "patch" })).rejects.toThrow(/op/);
    await expect(saveRecord(db, "hazard", randomUUID(), {}, { at: "2026-06-10T10:00:00" })).rejects.toThrow(/time zone/);
    await expect(saveRecord(db, "", randomUUID(), {})).rejects.toThrow(/entity/);
    expect(await pendingCount(db)).toBe(0);
    expect(await recordList(db, "hazard")).toEqual([]);
  });

  it("numbers mutations 1..n without gaps, even from two tabs saving at once", async () => {
    const otherTab = await openDatabase(factory, DB_NAME);
    const saves = [];
    for (let i = 0; i < 30; i += 1) {
      saves.push(saveRecord(i % 2 ? otherTab : db, "item_result", randomUUID(), { n: i }));
    }
    const seqs = (await Promise.all(saves)).map((s) => s.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await pendingMutations(db, 1000)).map((m) => m.seq)).toEqual(seqs);
    otherTab.close();
  });

  it("a later edit is a new mutation; the first stays frozen and the record merges both", async () => {
    const id = randomUUID();
    await saveRecord(db, "inspection", id, { kind: "unannounced", started_at: "2026-06-10T09:30:00+08:00" }, { at: AT });
    await saveRecord(db, "inspection", id, { status: "submitted" }, { at: AT });
    const [first, second] = await pendingMutations(db);
    expect(first.data).toEqual({ kind: "unannounced", started_at: "2026-06-10T09:30:00+08:00" });
    expect(second).toMatchObject({ seq: 2, data: { status: "submitted" } });
    expect((await recordGet(db, "inspection", id)).data).toEqual({
      kind: "unannounced", started_at: "2026-06-10T09:30:00+08:00", status: "submitted",
    });
    await saveRecord(db, "inspection", id, {}, { op: "delete", at: AT });
    expect(await recordList(db, "inspection")).toEqual([]);
    expect(await recordList(db, "inspection", { includeDeleted: true })).toHaveLength(1);
    expect((await pendingMutations(db)).map((m) => m.op)).toEqual(["upsert", "upsert", "delete"]);
  });
});

describe("ackUpTo", () => {
  it("drops only entries up to the acknowledged seq, and numbering goes on after it", async () => {
    for (let i = 0; i < 5; i += 1) await saveRecord(db, "item_result", randomUUID(), { n: i });
    expect(await ackUpTo(db, 3)).toBe(3);
    expect((await pendingMutations(db)).map((m) => m.seq)).toEqual([4, 5]);
    expect(await getMeta(db, "ackedSeq")).toBe(3);
    expect(await ackUpTo(db, 3)).toBe(0);
    // Beyond what exists: everything goes, and the next save still gets a fresh seq, never a reused one.
    expect(await ackUpTo(db, 99)).toBe(2);
    expect(await getMeta(db, "ackedSeq")).toBe(5);
    expect((await saveRecord(db, "item_result", randomUUID(), {})).seq).toBe(6);
    expect(await pendingCount(db)).toBe(1);
  });
});

describe("applyPullPage", () => {
  const change = (id, version, data = { name: `e${id}` }) => ({ entity: "enterprise", id: String(id), version, deleted: false, data });

  it("applies the example page and stores its cursor", async () => {
    const page = example("pull-reply");
    expect(await applyPullPage(db, page)).toBe(page.changes.length);
    expect(await getMeta(db, "cursor")).toBe(page.cursor);
    const [enterprise] = await replicaList(db, "enterprise");
    expect(enterprise.data.name).toBe("兴县森宇木业有限公司");
    // The deleted inspection is a tombstone: listed only when asked, kept for replicaGet.
    expect((await replicaList(db, "inspection")).map((r) => r.id)).toEqual(["7b2e9d14-6a3f-4c8b-b5e1-0f9a3d6c2e87"]);
    expect(await replicaGet(db, "inspection", "6e1a9c3f-8d2b-4f7e-b0a5-1c9d4e8f2b73")).toMatchObject({ deleted: true, data: null });
  });

  it("page and cursor are one transaction: a bad change leaves both as they were", async () => {
    await applyPullPage(db, { changes: [change(1, 1)], cursor: "c1" });
    const bad = { entity: undefined, id: "2", version: 1, deleted: false, data: {} };
    await expect(applyPullPage(db, { changes: [change(1, 2, { name: "new" }), bad], cursor: "c2" })).rejects.toThrow();
    expect(await getMeta(db, "cursor")).toBe("c1");
    expect((await replicaGet(db, "enterprise", "1")).version).toBe(1);
  });

  it("reset drops the replica first (never the outbox), in the same transaction as the page", async () => {
    await saveRecord(db, "hazard", randomUUID(), { level: "major" });
    await applyPullPage(db, { changes: [change(1, 1), change(2, 1)], cursor: "c1" });
    await applyPullPage(db, { changes: [change(3, 1)], cursor: "r1", reset: true });
    expect((await replicaList(db, "enterprise")).map((r) => r.id)).toEqual(["3"]);
    expect(await getMeta(db, "cursor")).toBe("r1");
    expect(await pendingCount(db)).toBe(1);

    const failing = { changes: [change(4, 1), { entity: "enterprise", version: 1, deleted: false }], cursor: "r2", reset: true };
    await expect(applyPullPage(db, failing)).rejects.toThrow();
    expect((await replicaList(db, "enterprise")).map((r) => r.id)).toEqual(["3"]);
    expect(await getMeta(db, "cursor")).toBe("r1");

    await resetReplica(db);
    expect(await replicaList(db, "enterprise")).toEqual([]);
    expect(await getMeta(db, "cursor")).toBeNull();
    expect(await pendingCount(db)).toBe(1);
  });
});

describe("photo blobs", () => {
  it("keeps bytes under their hash, refuses bytes that do not match it, and is write-once", async () => {
    const bytes = photoBytes(1);
    const hash = sha(bytes);
    await expect(putBlob(db, { sha256: hash, bytes: photoBytes(2), mime: "image/jpeg" })).rejects.toThrow(/hash/);
    const info = await putBlob(db, { sha256: hash, bytes, mime: "image/jpeg" });
    expect(info).toMatchObject({ sha256: hash, size: 3000, mime: "image/jpeg", uploaded: false, hasBytes: true });
    expect(new Uint8Array(await getBlobBytes(db, hash))).toEqual(bytes);
    await putBlob(db, { sha256: hash, bytes, mime: "image/png" });
    expect((await getBlobInfo(db, hash)).mime).toBe("image/jpeg");
    expect((await blobsToUpload(db)).map((b) => b.sha256)).toEqual([hash]);
    expect((await blobsToUpload(db))[0]).not.toHaveProperty("bytes");
  });

  it("releases bytes only once uploaded AND the photo mutation is acknowledged", async () => {
    const first = await savePhoto(db, photoBytes(1));
    const second = await savePhoto(db, photoBytes(2));
    const third = await savePhoto(db, photoBytes(3));

    // Uploaded, but no photo record acknowledged yet: the server has the bytes only.
    await markBlobUploaded(db, first.hash);
    expect(await releaseBlobsAckedUpTo(db, 99)).toBe(0);
    expect(await deleteUploadedBlobBytes(db, first.hash)).toBe(false);

    // The first two photo records acknowledged; only the uploaded one may go.
    await ackUpTo(db, second.seq);
    expect(await releaseBlobsAckedUpTo(db, second.seq)).toBe(1);
    expect(await getBlobBytes(db, first.hash)).toBeNull();
    expect(await getBlobInfo(db, first.hash)).toMatchObject({ uploaded: true, hasBytes: false, size: 3000 });
    expect(await getBlobBytes(db, second.hash)).not.toBeNull();

    // Acknowledged but the bytes not yet on the server: kept until the upload is confirmed.
    await markBlobUploaded(db, second.hash);
    // A caller passing a seq beyond what this device acknowledged releases nothing more.
    await markBlobUploaded(db, third.hash);
    expect(await releaseBlobsAckedUpTo(db, 99)).toBe(1);
    expect(await getBlobBytes(db, second.hash)).toBeNull();
    expect(await getBlobBytes(db, third.hash)).not.toBeNull();

    await ackUpTo(db, third.seq);
    expect(await deleteUploadedBlobBytes(db, third.hash)).toBe(true);
    expect(await blobsToUpload(db)).toEqual([]);
  });

  it("a photo record acknowledged before its bytes arrive still lets the bytes go once uploaded", async () => {
    const bytes = photoBytes(4);
    const hash = sha(bytes);
    const { seq } = await saveRecord(db, "photo", randomUUID(), { sha256: hash, size: bytes.length, mime: "image/jpeg" });
    await ackUpTo(db, seq);
    expect(await blobsToUpload(db)).toEqual([]);
    await putBlob(db, { sha256: hash, bytes, mime: "image/jpeg" });
    expect((await blobsToUpload(db)).map((b) => b.sha256)).toEqual([hash]);
    await markBlobUploaded(db, hash);
    expect(await releaseBlobsAckedUpTo(db, seq)).toBe(1);
  });

  it("a rejected blob is no longer offered but keeps its bytes", async () => {
    const { hash } = await savePhoto(db, photoBytes(5));
    await markBlobRejected(db, hash, "415.40");
    expect(await blobsToUpload(db)).toEqual([]);
    expect(await getBlobInfo(db, hash)).toMatchObject({ rejected: "415.40", hasBytes: true });
  });
});

describe("storageSummary and device switch", () => {
  it("counts what the server does not have yet, and the last sync's outcome", async () => {
    await savePhoto(db, photoBytes(1, 1000));
    const { hash } = await savePhoto(db, photoBytes(2, 500));
    await saveRecord(db, "hazard", randomUUID(), {});
    await markBlobUploaded(db, hash);
    await setMeta(db, "lastSync", "2026-06-10T04:00:00.000Z");
    await setMeta(db, "lastError", { code: "network", message: "无法连接服务器" });
    expect(await storageSummary(db)).toEqual({
      pendingMutations: 3, pendingBlobs: 1, pendingBlobBytes: 1000, rejectedBlobs: 0,
      lastSync: "2026-06-10T04:00:00.000Z", lastError: { code: "network", message: "无法连接服务器" },
    });
  });

  it("a new device id restarts numbering, but never while the outbox holds entries", async () => {
    await saveRecord(db, "hazard", randomUUID(), {});
    await applyPullPage(db, { changes: [{ entity: "enterprise", id: "1", version: 1, deleted: false, data: {} }], cursor: "c" });
    await expect(startNewDevice(db, { id: randomUUID() })).rejects.toMatchObject({ pending: 1 });
    expect(await getMeta(db, "nextSeq")).toBe(2);
    await ackUpTo(db, 1);
    const id = randomUUID();
    await startNewDevice(db, { id });
    expect(await getMeta(db, "device")).toEqual({ id, token: null, user: null });
    expect(await getMeta(db, "cursor")).toBeNull();
    expect(await replicaList(db, "enterprise")).toEqual([]);
    expect((await saveRecord(db, "hazard", randomUUID(), {})).seq).toBe(1);
  });
});

describe("drafts and discarded photos (issue 15 items 3 and 6)", () => {
  it("a draft is kept, listed by prefix, and removed in the same transaction as the save it becomes", async () => {
    const db = await openDatabase(new IDBFactory());
    const { putDraft, getDraft, draftsWithPrefix } = await import("../src/db/store.js");
    const id = randomUUID();
    await putDraft(db, `note:${id}`, "积尘较多");
    await putDraft(db, "rep:x", "王建平");
    expect(await getDraft(db, `note:${id}`)).toBe("积尘较多");
    expect(await draftsWithPrefix(db, "note:")).toEqual({ [`note:${id}`]: "积尘较多" });
    await saveRecord(db, "item_result", id, { note: "积尘较多" }, { clearDraft: `note:${id}` });
    expect(await getDraft(db, `note:${id}`)).toBeUndefined();
    expect(await getDraft(db, "rep:x")).toBe("王建平");
    expect(await pendingCount(db)).toBe(1);
  });

  it("a deleted photo's bytes are never offered for upload, unless another live photo names them", async () => {
    const db = await openDatabase(new IDBFactory());
    const { discardBlobIfUnused } = await import("../src/db/store.js");
    const bytes = photoBytes(3);
    const sha = createHash("sha256").update(bytes).digest("hex");
    await putBlob(db, { sha256: sha, bytes, mime: "image/jpeg" });
    const first = randomUUID();
    const second = randomUUID();
    await saveRecord(db, "photo", first, { sha256: sha });
    await saveRecord(db, "photo", second, { sha256: sha });
    await saveRecord(db, "photo", first, {}, { op: "delete" });
    expect(await discardBlobIfUnused(db, sha)).toBe(false); // the second photo still shows them
    await saveRecord(db, "photo", second, {}, { op: "delete" });
    expect(await discardBlobIfUnused(db, sha)).toBe(true);
    expect(await blobsToUpload(db)).toEqual([]);
    expect(await getBlobBytes(db, sha)).toBeNull();
    expect((await storageSummary(db)).pendingBlobs).toBe(0);
    // Taken again: wanted again.
    await putBlob(db, { sha256: sha, bytes, mime: "image/jpeg" });
    expect((await blobsToUpload(db)).map((b) => b.sha256)).toEqual([sha]);
  });
});
