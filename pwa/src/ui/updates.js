// Service-worker registration. A new version is only activated when the user agrees, so a page with
// unsaved input is never reloaded under the inspector's hands.

/** Register the service worker and call `onUpdate({apply})` when a new version is waiting. */
export async function watchForUpdates(onUpdate) {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
  const offer = (worker) => onUpdate({
    apply() {
      navigator.serviceWorker.addEventListener("controllerchange", () => window.location.reload(), { once: true });
      worker.postMessage({ type: "SKIP_WAITING" });
    },
  });
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const fresh = registration.installing;
    fresh?.addEventListener("statechange", () => {
      if (fresh.state === "installed" && navigator.serviceWorker.controller) offer(fresh);
    });
  });
}
