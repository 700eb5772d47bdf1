import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it, vi } from "vitest";

import { DB_NAME, DB_VERSION, STORES, openDatabase, steps, stepsForTest, upgrade } from "../src/db/schema.js";

const ALL_STORES = ["blobs", "meta", "outbox", "records", "replica"];

describe("schema", () => {
  it("a first open (v0 → v1) creates every store with its key and indexes", async () => {
    const db = await openDatabase(new IDBFactory());
    expect(db.name).toBe(DB_NAME);
    expect(db.version).toBe(DB_VERSION);
    expect([...db.objectStoreNames].sort()).toEqual(ALL_STORES);
    const tx = db.transaction(ALL_STORES);
    expect(tx.objectStore(STORES.meta).keyPath).toBe("name");
    expect(tx.objectStore(STORES.outbox).keyPath).toBe("seq");
    expect(tx.objectStore(STORES.outbox).autoIncrement).toBe(false);
    expect(tx.objectStore(STORES.blobs).keyPath).toBe("sha256");
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

  it("reopening at v1 runs no step and keeps the data", async () => {
    const factory = new IDBFactory();
    const first = await openDatabase(factory);
    await first.put(STORES.meta, { name: "nextSeq", value: 7 });
    first.close();

    const v1 = vi.fn(steps[1]);
    const again = await openDatabase(factory, DB_NAME, { steps: [null, v1] });
    expect(v1).not.toHaveBeenCalled();
    expect(again.version).toBe(1);
    expect(await again.get(STORES.meta, "nextSeq")).toEqual({ name: "nextSeq", value: 7 });
    again.close();
  });

  it("an upgrade from v1 runs the later steps in order and keeps v1's data", async () => {
    const factory = new IDBFactory();
    const v1db = await openDatabase(factory);
    await v1db.put(STORES.outbox, { seq: 1, entity: "hazard" });
    v1db.close();

    const ran = [];
    const later = [
      ...stepsForTest(),
      (db) => {
        ran.push(2);
        db.createObjectStore("extra", { keyPath: "k" });
      },
      (db, tx) => {
        ran.push(3);
        // Depends on step 2 having run first, in the same versionchange transaction.
        tx.objectStore("extra").createIndex("byValue", "value");
      },
    ];
    const v3db = await openDatabase(factory, DB_NAME, { version: 3, steps: later });
    expect(ran).toEqual([2, 3]);
    expect(v3db.version).toBe(3);
    expect([...v3db.transaction("extra").store.indexNames]).toEqual(["byValue"]);
    expect(await v3db.get(STORES.outbox, 1)).toEqual({ seq: 1, entity: "hazard" });
    v3db.close();
  });

  it("a new device at a later version runs every step from 1", async () => {
    const ran = [];
    const list = [null, ...[1, 2, 3].map((v) => (db) => {
      ran.push(v);
      if (v === 1) steps[1](db);
    })];
    const db = await openDatabase(new IDBFactory(), DB_NAME, { version: 3, steps: list });
    expect(ran).toEqual([1, 2, 3]);
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
    await expect(openDatabase(factory, DB_NAME, { version: 2 })).rejects.toThrow();
    const db = await openDatabase(factory);
    expect(db.version).toBe(1);
    db.close();
  });

  it("an open connection gives way when another tab opens a newer version", async () => {
    const factory = new IDBFactory();
    const old = await openDatabase(factory);
    const onVersionChange = vi.fn((db) => db.close());
    const watched = await openDatabase(factory, DB_NAME, { onVersionChange });
    const newer = await openDatabase(factory, DB_NAME, {
      version: 2,
      steps: [...stepsForTest(), (db) => db.createObjectStore("v2")],
    });
    expect(newer.version).toBe(2);
    expect(onVersionChange).toHaveBeenCalledTimes(1);
    // The default handler closed the other connection: using it now fails.
    expect(() => old.transaction(STORES.meta)).toThrow();
    expect(() => watched.transaction(STORES.meta)).toThrow();
    newer.close();
  });
});
