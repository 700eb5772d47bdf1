// The PWA is served by Flask under /app/; every asset is precached by the service worker (injectManifest).
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";
import { VitePWA } from "vite-plugin-pwa";

export default defineConfig({
  base: "/app/",
  plugins: [
    preact(),
    VitePWA({
      strategies: "injectManifest",
      srcDir: "src",
      filename: "sw.js",
      // Registration is done by the app itself, so that an update never reloads a page with unsaved input.
      injectRegister: null,
      manifest: {
        name: "冶金工贸安全检查",
        short_name: "安全检查",
        description: "离线现场检查：扫码、检查、拍照取证、签名、同步",
        lang: "zh-CN",
        start_url: "/app/",
        scope: "/app/",
        display: "standalone",
        orientation: "any",
        theme_color: "#0b5cad",
        background_color: "#f4f6f8",
        icons: [
          { src: "icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "icon-512.png", sizes: "512x512", type: "image/png" },
          { src: "icon-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      injectManifest: {
        globPatterns: ["**/*.{js,css,html,png,svg,webmanifest,wasm}"],
        // One classic script: every browser can run it, module workers or not.
        rollupFormat: "iife",
      },
    }),
  ],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
});
