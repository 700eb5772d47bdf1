// ESLint (flat config): the recommended rules, JSX and hooks through eslint-plugin-react set up for Preact.
// Formatting is nobody's business here: no stylistic rules. Types are tsc's job (npm run typecheck).
import js from "@eslint/js";
import globals from "globals";
import react from "eslint-plugin-react";
import reactHooks from "eslint-plugin-react-hooks";

// The DOM-free contexts also run in workers, where these exist but mean a worker's own scope.
const WORKER_ONLY = ["self", "importScripts", "postMessage", "close"].map((name) => ({
  name,
  message: "src/db, src/sync, src/domain and src/photo run on the page and in workers alike: take what you need as a parameter.",
}));

export default [
  { ignores: ["dist/", "dist-web/", "node_modules/", "dev-dist/"] },
  js.configs.recommended,
  {
    files: ["**/*.{js,jsx}"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      parserOptions: { ecmaFeatures: { jsx: true } },
    },
    rules: {
      // An unused argument often documents a callback's shape; an `_` prefix says it is deliberate.
      "no-unused-vars": ["error", { args: "none", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["src/ui/**/*.{js,jsx}", "src/main.js"],
    ...react.configs.flat.recommended,
    ...react.configs.flat["jsx-runtime"],
    plugins: { react, "react-hooks": reactHooks },
    languageOptions: {
      ...react.configs.flat.recommended.languageOptions,
      globals: { ...globals.browser },
    },
    settings: { react: { version: "18.0" } },
    rules: {
      ...react.configs.flat.recommended.rules,
      ...react.configs.flat["jsx-runtime"].rules,
      "react-hooks/rules-of-hooks": "error",
      // Effects here name their triggers on purpose (an inspection's id, not every value they read).
      "react-hooks/exhaustive-deps": "off",
      // Preact takes the DOM's own attribute names (class, for, stroke-width…).
      "react/no-unknown-property": "off",
      // Props are described in JSDoc and checked by tsc, not by runtime propTypes.
      "react/prop-types": "off",
    },
  },
  {
    files: ["src/db/**/*.js", "src/sync/**/*.js", "src/domain/**/*.js", "src/photo/**/*.js"],
    languageOptions: { globals: { ...globals.worker } },
    rules: {
      "no-restricted-globals": ["error", ...WORKER_ONLY],
      // The screens depend on these modules, never the other way round.
      "no-restricted-imports": ["error", { patterns: [
        { group: ["**/ui/**", "preact", "preact/**"], message: "src/ui uses these modules, not the other way round." },
      ] }],
    },
  },
  {
    files: ["src/sw.js", "src/scan/**/*.js"],
    languageOptions: { globals: { ...globals.serviceworker, ...globals.worker } },
  },
  {
    files: ["test/**/*.js", "*.config.js"],
    languageOptions: { globals: { ...globals.node } },
  },
];
