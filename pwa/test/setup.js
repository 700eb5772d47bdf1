// IndexedDB for Node: indexedDB, IDBKeyRange and the IDB* classes `idb` checks with instanceof.
import "fake-indexeddb/auto";
