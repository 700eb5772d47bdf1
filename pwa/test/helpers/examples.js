// The canonical protocol messages (sync/examples/*.json) and a shape check against them: the JS client and
// fake server are held to the same contract the Python side is tested with.

import { readFileSync } from "node:fs";

const EXAMPLES = new URL("../../../sync/examples/", import.meta.url);

/** One example message, parsed fresh each time (callers may change it). */
export function example(name) {
  return JSON.parse(readFileSync(new URL(`${name}.json`, EXAMPLES), "utf8"));
}

/**
 * Mismatches between `actual` and the example's shape: the same keys at every level and the same JSON types.
 * Keys named in `opaque` (free-form payloads such as `data`) are only checked to be objects or null; a null in
 * the example accepts null or any scalar; an array is checked element by element against the example's first.
 */
export function shapeErrors(actual, expected, { opaque = ["data", "details"], path = "$" } = {}) {
  const errors = [];
  const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  const walk = (a, e, at, key) => {
    if (opaque.includes(key)) {
      if (a !== null && kind(a) !== "object") errors.push(`${at}: expected an object or null, got ${kind(a)}`);
      return;
    }
    if (e === null) {
      if (["object", "array"].includes(kind(a))) errors.push(`${at}: expected a scalar or null, got ${kind(a)}`);
      return;
    }
    if (kind(e) === "number" ? typeof a !== "number" : kind(a) !== kind(e)) {
      errors.push(`${at}: expected ${kind(e)}, got ${kind(a)}`);
      return;
    }
    if (kind(e) === "array") {
      if (e.length > 0) a.forEach((item, i) => walk(item, e[0], `${at}[${i}]`, key));
    } else if (kind(e) === "object") {
      const wanted = Object.keys(e).sort();
      const got = Object.keys(a).sort();
      if (wanted.join() !== got.join()) errors.push(`${at}: keys ${JSON.stringify(got)} ≠ ${JSON.stringify(wanted)}`);
      for (const k of wanted) if (k in a) walk(a[k], e[k], `${at}.${k}`, k);
    }
  };
  walk(actual, expected, path, null);
  return errors;
}
