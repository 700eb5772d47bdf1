// The sealed record of a submitted inspection: canonical JSON of what was found, signed with the device's
// non-extractable P-256 key. The server keeps the exact text and checks the signature over it.
import { sha256Hex } from "../db/store.js";

/** Deterministic JSON: object keys sorted at every level, no spaces. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The record to seal: the inspection's header, every answer, its hazards, its photos' hashes and (when there
 * are any) its experts' opinions, already in their sealed form (src/domain/expertOpinion.js: sealedOpinions). */
export function sealedRecord({ inspection, answers, hazards, photoHashes, expertOpinions = [] }) {
  const record = {
    v: 1,
    inspection: {
      id: inspection.id,
      enterprise_id: inspection.data.enterprise_id,
      catalogue_id: inspection.data.catalogue_id,
      kind: inspection.data.kind,
      started_at: inspection.data.started_at,
      finished_at: inspection.data.finished_at,
      participants: inspection.data.participants,
      signatures: inspection.data.signatures ?? [],
    },
    results: Object.values(answers)
      .map((a) => [a.item_code, a.result, a.note ?? null])
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)),
    hazards: hazards
      .map((h) => ({ id: h.id, item_code: h.data.item_code, level: h.data.level, description: h.data.description, deadline: h.data.deadline }))
      .sort((x, y) => (x.id < y.id ? -1 : 1)),
    photos: [...photoHashes].sort(),
  };
  // Only when present: a record without opinions stays byte for byte what it was.
  if (expertOpinions.length) record.expert_opinions = expertOpinions;
  return record;
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Seal fields for the submit mutation: the canonical text, its SHA-256 and the raw r‖s signature. */
export async function seal(record, privateKey, subtle = globalThis.crypto.subtle) {
  const text = canonicalJson(record);
  const bytes = new TextEncoder().encode(text);
  // WebCrypto's ECDSA signature is already the 64-byte r‖s the server expects.
  const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, bytes);
  return { sealed_record: text, sealed_sha256: await sha256Hex(bytes, subtle), device_signature: base64url(signature) };
}
