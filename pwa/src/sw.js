// The service worker holds listeners only: precache the app shell, serve it offline, update on request.
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";
import { openDatabase } from "./db/schema.js";
import { createApi } from "./sync/api.js";
import { createRunner } from "./sync/runner.js";

// lib.webworker types `self` as any worker's scope; this file runs as the service worker.
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

precacheAndRoute(self.__WB_MANIFEST);
// The first install controls the open page at once (nothing to lose); later versions wait, see below.
clientsClaim();
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL("/app/index.html"), { allowlist: [/^\/app\//] }));

// A new version waits until the page says the user agreed (no reload over unsaved input).
sw.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") sw.skipWaiting();
});

// Background Sync (where the browser has it): the outbox is sent when connectivity returns, even with the
// app closed. The same runner as the page's, under the same Web Lock, so the two never overlap.
// Background Sync's event is not in TypeScript's WebWorker lib (Chromium only): its two members, typed here.
sw.addEventListener("sync", (/** @type {ExtendableEvent & {tag: string}} */ event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil(
    openDatabase().then((db) => createRunner({ db, api: createApi({ baseUrl: "" }) }).runOnce().finally(() => db.close())),
  );
});
