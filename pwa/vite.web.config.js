// The supervisors' web pages (served by Flask under /web-assets/): a build of its own, kept out of the PWA's
// dist/ and so out of its service worker's precache. The manifest tells Flask the hashed file names.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/web-assets/",
  // The PWA's icons in public/ belong to the PWA.
  publicDir: false,
  build: {
    outDir: "dist-web",
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    rolldownOptions: { input: "src/ui/supervisor-map/main.js" },
  },
});
