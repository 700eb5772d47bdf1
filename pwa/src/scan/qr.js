// Enterprise QR codes, checked offline: the bureau's signature (ECDSA P-256 over "FIQR1|code|token", raw
// r‖s) with the public key pulled at sign-in, then the token against the enterprise's current and revoked ones.
// Same format as server/qrcodes/signing.py.

const PAYLOAD_RE = /(?:^|\/)q\/(\d+)\/([0-9A-Z]{18})\/([a-z2-7]{16})\/([A-Za-z0-9_-]{86})\/?$/;

/** The parts of a scanned text, or null when it is not one of our codes. */
export function parsePayload(text) {
  const match = PAYLOAD_RE.exec(String(text).trim().split(/[?#]/)[0]);
  if (!match || match[1] !== "1") return null;
  return { creditCode: match[2], token: match[3], signature: match[4] };
}

function unbase64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** Whether the bureau's key (a JWK) signed this code. */
export async function signatureHolds(jwk, parsed, subtle = globalThis.crypto.subtle) {
  const key = await subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const message = new TextEncoder().encode(`FIQR1|${parsed.creditCode}|${parsed.token}`);
  const signature = unbase64url(parsed.signature);
  if (signature.length !== 64) return false;
  return subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, message);
}

/**
 * Whether a credit code was registered inside `region` ({code}: a county "141123", a city "141100", a
 * province "140000"): its 3rd–8th characters are the registering authority's division code. Unknown region
 * or a code without digits there: true (nothing to contradict).
 */
export function registeredWithin(creditCode, region) {
  const division = String(creditCode).slice(2, 8);
  const area = String(region?.code ?? "").replace(/(00)+$/, "");
  if (!/^\d{6}$/.test(division) || !area) return true;
  return division.startsWith(area);
}

/**
 * What a scan means: {enterprise} for a genuine current code, else {reason} — "malformed", "forged",
 * "revoked", "elsewhere" (a genuine code of an enterprise registered outside the inspector's `region`, not in
 * this device's data: syncing will not bring it), "unknown" (a genuine code for an enterprise of the region
 * not in this device's data, or a newer code than the device knows) or "nokey".
 */
export async function resolveScan(text, { jwk, enterprises, region = null, subtle = globalThis.crypto.subtle }) {
  const parsed = parsePayload(text);
  if (!parsed) return { reason: "malformed" };
  if (!jwk) return { reason: "nokey", creditCode: parsed.creditCode };
  if (!(await signatureHolds(jwk, parsed, subtle))) return { reason: "forged", creditCode: parsed.creditCode };
  const enterprise = enterprises.find((e) => !e.deleted && e.data?.credit_code === parsed.creditCode);
  if (!enterprise) {
    const division = parsed.creditCode.slice(2, 8);
    if (!registeredWithin(parsed.creditCode, region)) return { reason: "elsewhere", creditCode: parsed.creditCode, division };
    return { reason: "unknown", creditCode: parsed.creditCode };
  }
  if ((enterprise.data.revoked_qr_tokens ?? []).includes(parsed.token)) return { reason: "revoked", enterprise, creditCode: parsed.creditCode };
  if (enterprise.data.qr_token !== parsed.token) return { reason: "unknown", enterprise, creditCode: parsed.creditCode };
  return { enterprise };
}
