// The device's IndexedDB schema. Versioned: every future change is a new step appended to `steps`,
// never an edit of an old one, because a tablet may skip app updates and must replay all steps in order.

import { openDB, wrap } from "idb";

export const DB_NAME = "field-inspection";
export const DB_VERSION = 2;

/** Store names, so callers never spell them by hand. */
export const STORES = Object.freeze({
  meta: "meta",
  outbox: "outbox",
  replica: "replica",
  records: "records",
  blobs: "blobs",
  drafts: "drafts",
});

/**
 * One upgrade step per version, indexed by the version it brings the database to (index 0 is unused).
 * A step receives the raw-wrapped database and the versionchange transaction.
 * @type {ReadonlyArray<null | ((db: import("idb").IDBPDatabase, tx: import("idb").IDBPTransaction<any, any, "versionchange">) => void)>}
 */
export const steps = Object.freeze([
  null,
  // v1: the first schema.
  (db) => {
    // Small named values: device {id, token, user}, cursor, lastSync, lastError, nextSeq, ackedSeq.
    db.createObjectStore(STORES.meta, { keyPath: "name" });
    // seq is assigned by store.saveRecord inside the writing transaction, not autoIncrement: an
    // autoIncrement key survives an aborted transaction's increment, which would leave a gap.
    db.createObjectStore(STORES.outbox, { keyPath: "seq" });
    const replica = db.createObjectStore(STORES.replica, { keyPath: ["entity", "id"] });
    replica.createIndex("entity", "entity");
    const records = db.createObjectStore(STORES.records, { keyPath: ["entity", "id"] });
    records.createIndex("entity", "entity");
    db.createObjectStore(STORES.blobs, { keyPath: "sha256" });
  },
  // v2: typing in progress (a note, a name, an unsaved hazard form), kept within ~300 ms of each keystroke so a
  // killed app loses nothing; never synced, and removed in the same transaction that saves the real record.
  (db) => {
    db.createObjectStore(STORES.drafts, { keyPath: "key" });
  },
]);

/** The steps tests may extend with a fake later version (a copy: the real list stays frozen). */
export const stepsForTest = () => [...steps];

/**
 * Run every upgrade step from oldVersion + 1 to newVersion, in order.
 * @param {import("idb").IDBPDatabase} db
 * @param {number} oldVersion 0 for a new database
 * @param {number} newVersion
 * @param {import("idb").IDBPTransaction<any, any, "versionchange">} tx
 * @param {ReadonlyArray<Function | null>} [stepList]
 */
export function upgrade(db, oldVersion, newVersion, tx, stepList = steps) {
  for (let version = oldVersion + 1; version <= newVersion; version += 1) {
    const step = stepList[version];
    if (typeof step !== "function") {
      // Throwing inside upgradeneeded aborts the versionchange transaction: better no database than half a schema.
      throw new Error(`no upgrade step for IndexedDB version ${version}`);
    }
    step(db, tx);
  }
}

/**
 * Open (creating or upgrading as needed) the app's database.
 * @param {IDBFactory} [idbFactory] injectable for tests; the browser's `indexedDB` by default
 * @param {string} [name]
 * @param {{version?: number, steps?: ReadonlyArray<Function | null>, onBlocked?: () => void, onVersionChange?: (db: import("idb").IDBPDatabase) => void}} [options]
 *   onVersionChange defaults to closing this connection, so another tab's newer app version can upgrade.
 * @returns {Promise<import("idb").IDBPDatabase>}
 */
export function openDatabase(idbFactory = globalThis.indexedDB, name = DB_NAME, options = {}) {
  const { version = DB_VERSION, steps: stepList = steps, onBlocked, onVersionChange } = options;
  const callbacks = {
    upgrade: (db, oldVersion, newVersion, tx) => {
      // A failed step aborts the upgrade; the open itself then rejects, so this promise needs no second report.
      tx.done.catch(() => {});
      upgrade(db, oldVersion, newVersion ?? version, tx, stepList);
    },
    blocked: () => onBlocked?.(),
    blocking: () => (onVersionChange ? onVersionChange(database) : database?.close()),
  };
  let database;
  const opening = idbFactory === globalThis.indexedDB
    ? openDB(name, version, callbacks)
    : openWith(idbFactory, name, version, callbacks);
  return opening.then((db) => {
    database = db;
    return db;
  });
}

// idb's openDB always uses the global indexedDB; this is the same wiring for an injected factory.
/**
 * @param {IDBFactory} idbFactory
 * @param {string} name
 * @param {number} version
 * @param {{upgrade: Function, blocked: () => void, blocking: () => void}} callbacks
 * @returns {Promise<import("idb").IDBPDatabase>}
 */
function openWith(idbFactory, name, version, { upgrade: onUpgrade, blocked, blocking }) {
  const request = idbFactory.open(name, version);
  request.addEventListener("upgradeneeded", (event) => {
    // During upgradeneeded the request always has its versionchange transaction.
    onUpgrade(wrap(request.result), event.oldVersion, event.newVersion, wrap(/** @type {IDBTransaction} */ (request.transaction)));
  });
  request.addEventListener("blocked", () => blocked());
  // wrap() of an open request is a promise of the wrapped database (idb types it as the database itself).
  const opened = /** @type {Promise<import("idb").IDBPDatabase>} */ (/** @type {unknown} */ (wrap(request)));
  return opened.then((db) => {
    db.addEventListener("versionchange", () => blocking());
    return db;
  });
}
