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
 * What a scan means: {enterprise} for a genuine current code, else {reason} — "malformed", "forged",
 * "revoked", "unknown" (a genuine code for an enterprise not in this device's data) or "nokey".
 */
export async function resolveScan(text, { jwk, enterprises, subtle = globalThis.crypto.subtle }) {
  const parsed = parsePayload(text);
  if (!parsed) return { reason: "malformed" };
  if (!jwk) return { reason: "nokey" };
  if (!(await signatureHolds(jwk, parsed, subtle))) return { reason: "forged" };
  const enterprise = enterprises.find((e) => !e.deleted && e.data?.credit_code === parsed.creditCode);
  if (!enterprise) return { reason: "unknown", creditCode: parsed.creditCode };
  if ((enterprise.data.revoked_qr_tokens ?? []).includes(parsed.token)) return { reason: "revoked", enterprise };
  if (enterprise.data.qr_token !== parsed.token) return { reason: "unknown", enterprise };
  return { enterprise };
}
