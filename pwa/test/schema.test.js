import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it, vi } from "vitest";

import { DB_NAME, DB_VERSION, STORES, openDatabase, steps, stepsForTest, upgrade } from "../src/db/schema.js";

const ALL_STORES = ["blobs", "drafts", "meta", "outbox", "records", "replica"];
const V = DB_VERSION;

describe("schema", () => {
  it("a first open (v0 → current) creates every store with its key and indexes", async () => {
    const db = await openDatabase(new IDBFactory());
    expect(db.name).toBe(DB_NAME);
    expect(db.version).toBe(DB_VERSION);
    expect([...db.objectStoreNames].sort()).toEqual(ALL_STORES);
    const tx = db.transaction(ALL_STORES);
    expect(tx.objectStore(STORES.meta).keyPath).toBe("name");
    expect(tx.objectStore(STORES.outbox).keyPath).toBe("seq");
    expect(tx.objectStore(STORES.outbox).autoIncrement).toBe(false);
    expect(tx.objectStore(STORES.blobs).keyPath).toBe("sha256");
    expect(tx.objectStore(STORES.drafts).keyPath).toBe("key");
    for (const name of [STORES.replica, STORES.records]) {
      const store = tx.objectStore(name);
      expect(store.keyPath).toEqual(["entity", "id"]);
      expect([...store.indexNames]).toEqual(["entity"]);
      expect(store.index("entity").keyPath).toBe("entity");
    }
    db.close();
  });

  it("works with the browser's global indexedDB through idb's openDB", async () => {
    const db = await openDatabase(undefined, "schema-global-factory");
    expect([...db.objectStoreNames].sort()).toEqual(ALL_STORES);
    await db.put(STORES.meta, { name: "probe", value: 1 });
    expect(await db.get(STORES.meta, "probe")).toEqual({ name: "probe", value: 1 });
    db.close();
  });

  it("reopening at the current version runs no step and keeps the data", async () => {
    const factory = new IDBFactory();
    const first = await openDatabase(factory);
    await first.put(STORES.meta, { name: "nextSeq", value: 7 });
    first.close();

    const spied = steps.map((step) => step && vi.fn(step));
    const again = await openDatabase(factory, DB_NAME, { steps: spied });
    for (const step of spied) if (step) expect(step).not.toHaveBeenCalled();
    expect(again.version).toBe(V);
    expect(await again.get(STORES.meta, "nextSeq")).toEqual({ name: "nextSeq", value: 7 });
    again.close();
  });

  it("v1 → v2 adds the drafts store and keeps the outbox, records and blobs of a v1 tablet", async () => {
    const factory = new IDBFactory();
    const v1db = await openDatabase(factory, DB_NAME, { version: 1 });
    expect([...v1db.objectStoreNames]).not.toContain("drafts");
    await v1db.put(STORES.outbox, { seq: 1, entity: "item_result" });
    await v1db.put(STORES.records, { entity: "item_result", id: "a", data: { note: "积尘" } });
    await v1db.put(STORES.blobs, { sha256: "f".repeat(64), bytes: new ArrayBuffer(3) });
    v1db.close();
    const v2db = await openDatabase(factory);
    expect(v2db.version).toBe(2);
    expect([...v2db.objectStoreNames].sort()).toEqual(ALL_STORES);
    expect(await v2db.get(STORES.outbox, 1)).toEqual({ seq: 1, entity: "item_result" });
    expect((await v2db.get(STORES.records, ["item_result", "a"])).data.note).toBe("积尘");
    expect((await v2db.get(STORES.blobs, "f".repeat(64))).bytes.byteLength).toBe(3);
    await v2db.put(STORES.drafts, { key: "note:a", value: "积尘较多" });
    v2db.close();
  });

  it("an upgrade from the current version runs the later steps in order and keeps its data", async () => {
    const factory = new IDBFactory();
    const v1db = await openDatabase(factory);
    await v1db.put(STORES.outbox, { seq: 1, entity: "hazard" });
    v1db.close();

    const ran = [];
    const later = [
      ...stepsForTest(),
      (db) => {
        ran.push(V + 1);
        db.createObjectStore("extra", { keyPath: "k" });
      },
      (db, tx) => {
        ran.push(V + 2);
        // Depends on the step before having run first, in the same versionchange transaction.
        tx.objectStore("extra").createIndex("byValue", "value");
      },
    ];
    const v3db = await openDatabase(factory, DB_NAME, { version: V + 2, steps: later });
    expect(ran).toEqual([V + 1, V + 2]);
    expect(v3db.version).toBe(V + 2);
    expect([...v3db.transaction("extra").store.indexNames]).toEqual(["byValue"]);
    expect(await v3db.get(STORES.outbox, 1)).toEqual({ seq: 1, entity: "hazard" });
    v3db.close();
  });

  it("a new device at a later version runs every step from 1", async () => {
    const ran = [];
    const list = [null, ...[...steps.slice(1), () => {}].map((step, index) => (db, tx) => {
      ran.push(index + 1);
      step(db, tx);
    })];
    const db = await openDatabase(new IDBFactory(), DB_NAME, { version: V + 1, steps: list });
    expect(ran).toEqual(Array.from({ length: V + 1 }, (_, i) => i + 1));
    expect([...db.objectStoreNames].sort()).toEqual(ALL_STORES);
    db.close();
  });

  it("upgrade() calls the steps between the two versions in order, and refuses a missing one", () => {
    const calls = [];
    const list = [null, () => calls.push(1), () => calls.push(2), () => calls.push(3), () => calls.push(4)];
    upgrade({}, 1, 3, {}, list);
    expect(calls).toEqual([2, 3]);
    expect(() => upgrade({}, 0, 2, {}, [null, () => {}])).toThrow(/no upgrade step for IndexedDB version 2/);
  });

  it("a missing step aborts the upgrade and leaves the old version intact", async () => {
    const factory = new IDBFactory();
    (await openDatabase(factory)).close();
    await expect(openDatabase(factory, DB_NAME, { version: V + 1 })).rejects.toThrow();
    const db = await openDatabase(factory);
    expect(db.version).toBe(V);
    db.close();
  });

  it("an open connection gives way when another tab opens a newer version", async () => {
    const factory = new IDBFactory();
    const old = await openDatabase(factory);
    const onVersionChange = vi.fn((db) => db.close());
    const watched = await openDatabase(factory, DB_NAME, { onVersionChange });
    const newer = await openDatabase(factory, DB_NAME, {
      version: V + 1,
      steps: [...stepsForTest(), (db) => db.createObjectStore("next")],
    });
    expect(newer.version).toBe(V + 1);
    expect(onVersionChange).toHaveBeenCalledTimes(1);
    // The default handler closed the other connection: using it now fails.
    expect(() => old.transaction(STORES.meta)).toThrow();
    expect(() => watched.transaction(STORES.meta)).toThrow();
    newer.close();
  });
});
