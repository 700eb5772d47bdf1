// Globals and modules the build provides to the workers (service worker and QR decoder), for tsc only.

// Vite's `?url` import: the asset's URL, hashed and served from our origin.
declare module "*?url" {
  const url: string;
  export default url;
}

// vite-plugin-pwa (injectManifest) replaces the text `self.__WB_MANIFEST` with the precache list at build time.
interface WorkerGlobalScope {
  __WB_MANIFEST: Array<import("workbox-precaching").PrecacheEntry | string>;
}
