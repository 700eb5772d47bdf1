import { describe, expect, it } from "vitest";
import { parsePayload, resolveScan } from "../src/scan/qr.js";

const b64url = (bytes) => Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function bureau() {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
  const issue = async (code, token, key = keys.privateKey) => {
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(`FIQR1|${code}|${token}`));
    return `https://jc.example.cn/q/1/${code}/${token}/${b64url(new Uint8Array(sig))}`;
  };
  return { jwk, issue };
}

const CODE = "91141123MA0000015A";
const enterprise = (token, revoked = []) => ({ id: "e1", data: { credit_code: CODE, qr_token: token, revoked_qr_tokens: revoked } });

describe("scanned codes, checked offline", () => {
  it("accepts a genuine current code", async () => {
    const { jwk, issue } = await bureau();
    const text = await issue(CODE, "abcdefghijklmnop");
    expect(parsePayload(text).creditCode).toBe(CODE);
    expect((await resolveScan(text, { jwk, enterprises: [enterprise("abcdefghijklmnop")] })).enterprise.id).toBe("e1");
  });
  it("refuses forged, revoked, unknown and malformed codes with the reason", async () => {
    const { jwk, issue } = await bureau();
    const other = await bureau();
    const forged = await other.issue(CODE, "abcdefghijklmnop");
    expect((await resolveScan(forged, { jwk, enterprises: [enterprise("abcdefghijklmnop")] })).reason).toBe("forged");
    const old = await issue(CODE, "oldtokenoldtoken");
    expect((await resolveScan(old, { jwk, enterprises: [enterprise("abcdefghijklmnop", ["oldtokenoldtoken"])] })).reason).toBe("revoked");
    expect((await resolveScan(old, { jwk, enterprises: [] })).reason).toBe("unknown");
    expect((await resolveScan("hello", { jwk, enterprises: [] })).reason).toBe("malformed");
    const swapped = (await issue(CODE, "abcdefghijklmnop")).replace(CODE, "91141123MA00000235");
    expect((await resolveScan(swapped, { jwk, enterprises: [] })).reason).toBe("forged");
  });
});

describe("a genuine code of an enterprise not in the device's data", () => {
  it("names another county's enterprise as such instead of asking to sync", async () => {
    const { jwk, issue } = await bureau();
    const text = await issue("91141124MA0000015A", "abcdefghijklmnop"); // registered in 临县 (141124)
    const xingxian = { code: "141123", name: "兴县" };
    const outcome = await resolveScan(text, { jwk, enterprises: [], region: xingxian });
    expect(outcome).toMatchObject({ reason: "elsewhere", creditCode: "91141124MA0000015A", division: "141124" });
  });
  it("asks to sync for an enterprise of the inspector's own area, a city's county included", async () => {
    const { jwk, issue } = await bureau();
    const text = await issue(CODE, "abcdefghijklmnop");
    expect((await resolveScan(text, { jwk, enterprises: [], region: { code: "141123" } })).reason).toBe("unknown");
    expect((await resolveScan(text, { jwk, enterprises: [], region: { code: "141100" } })).reason).toBe("unknown");
    expect((await resolveScan(text, { jwk, enterprises: [], region: null })).reason).toBe("unknown");
  });
});
