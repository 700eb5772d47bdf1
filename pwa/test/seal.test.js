import { describe, expect, it } from "vitest";
import { canonicalJson, seal, sealedRecord } from "../src/domain/seal.js";

describe("the sealed record", () => {
  it("is canonical: sorted keys at every level, no spaces, order of input irrelevant", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: "中" }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":"中","z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
  it("holds every answer sorted by code and the photos' hashes", () => {
    const record = sealedRecord({
      inspection: { id: "i1", data: { enterprise_id: "e", catalogue_id: "c", kind: "county", participants: [] } },
      answers: { "ST-2": { item_code: "ST-2", result: "compliant" }, "ST-1": { item_code: "ST-1", result: "non_compliant", note: "n" } },
      hazards: [],
      photoHashes: ["bb", "aa"],
    });
    expect(record.results).toEqual([["ST-1", "non_compliant", "n"], ["ST-2", "compliant", null]]);
    expect(record.photos).toEqual(["aa", "bb"]);
  });
  it("is signed with the device key so that the public key verifies it", async () => {
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const fields = await seal({ v: 1, inspection: { id: "i1" }, results: [] }, keys.privateKey);
    const bytes = new TextEncoder().encode(fields.sealed_record);
    const raw = Uint8Array.from(atob(fields.device_signature.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    expect(raw.length).toBe(64);
    expect(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, keys.publicKey, raw, bytes)).toBe(true);
    expect(fields.sealed_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
