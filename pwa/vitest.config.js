// Tests for the DOM-less modules (src/db, src/sync): Node, with fake-indexeddb installed as the globals.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["test/**/*.test.js"],
    setupFiles: ["./test/setup.js"],
  },
});
