// Submitting an inspection (the use case behind the checklist's submit button): refuse what is not ready,
// seal what was found with the device's key and queue the sealed inspection for sync, in one saveRecord
// (the record and its outbox mutation in one transaction). No DOM: src/ui/inspection.jsx hands it what the
// screen holds and renders a refusal.
import { getMeta, recordList, saveRecord } from "../db/store.js";
import { submitBlockers } from "./checklist.js";
import { sealedOpinions } from "./expertOpinion.js";
import { positionFields } from "./geo.js";
import { seal, sealedRecord } from "./seal.js";

/** The draft key of the enterprise representative's name while it is typed (cleared by the submission). */
export const repDraftKey = (inspectionId) => `rep:${inspectionId}`;

/** Whether an inspection can no longer change on the tablet: anything but a draft is sealed. */
export const isSealed = (inspection) => Boolean(inspection?.data?.status) && inspection.data.status !== "draft";

/**
 * A submission refused before anything was written. `code` is "submit.sealed" (not a draft any more) or
 * "submit.blocked", with `reasons` as submitBlockers gives them ({key, ...params} for the UI's messages).
 */
export class SubmitRefused extends Error {
  /**
   * @param {string} code
   * @param {Array<{key: string} & Record<string, unknown>>} [reasons]
   */
  constructor(code, reasons = []) {
    super(`${code}: ${reasons.map((r) => r.key).join(", ") || "refused"}`);
    this.name = "SubmitRefused";
    this.code = code;
    this.reasons = reasons;
  }
}

/**
 * @typedef {{id: string, data: Record<string, any>}} Row a record as the screen holds it
 * @typedef {{id: string, item_code: string, result?: string, note?: string | null}} Answer an answer by item code
 */

/**
 * Seal and queue an inspection for sync; refused (SubmitRefused, nothing written) while it is not ready.
 * @param {import("idb").IDBPDatabase} db
 * @param {object} input
 * @param {Row} input.inspection the draft inspection
 * @param {Array<{code: string}>} input.items the catalogue's items that apply to the enterprise
 * @param {Record<string, Answer>} input.answers answers by item code
 * @param {Record<string, Row>} input.hazards this inspection's saved (not withdrawn) hazards by item code
 * @param {Set<string>} [input.hazardDrafts] item codes whose hazard form holds unsaved typing
 * @param {Record<string, Array<{data: {sha256: string}}>>} [input.photos] photo records by entity id (any inspection's)
 * @param {string} input.repName the enterprise representative's name as typed
 * @param {{lat: number, lon: number, accuracy?: number, at?: number} | null} [input.fix] the latest position fix
 * @param {Date} [input.now]
 * @returns {Promise<{record: object, sealed: boolean}>} the sealed record and whether the device key signed it
 */
export async function submitInspection(db, {
  inspection, items, answers, hazards, hazardDrafts = new Set(), photos = {}, repName, fix = null, now = new Date(),
}) {
  if (isSealed(inspection)) throw new SubmitRefused("submit.sealed");
  const data = inspection.data;
  const blockers = submitBlockers({
    items, answers, hazards, hazardDrafts,
    inspectors: (data.participants ?? []).filter((p) => p.role === "inspector"),
    signatures: data.signatures ?? [],
    repName,
  });
  if (blockers.length) throw new SubmitRefused("submit.blocked", blockers);

  const finishedAt = now.toISOString();
  const finished = { ...inspection, data: { ...data, finished_at: finishedAt } };
  // Only this inspection's photos: the replica holds every inspection's, and the seal names what this one proves.
  const mine = new Set([inspection.id, ...Object.values(answers).map((a) => a.id), ...Object.values(hazards).map((h) => h.id)]);
  const photoHashes = Object.entries(photos).filter(([entityId]) => mine.has(entityId)).flatMap(([, list]) => list.map((p) => p.data.sha256));
  const opinions = (await recordList(db, "expert_opinion")).filter((o) => o.data.inspection_id === inspection.id);
  const record = sealedRecord({
    inspection: finished, answers, hazards: Object.values(hazards), photoHashes, expertOpinions: sealedOpinions(opinions),
  });
  const keys = await getMeta(db, "deviceKey");
  // Enrolment makes the key, so only a damaged store lacks it: the inspection then travels unsealed, as it always
  // has, and the supervisors' review shows it without a seal.
  const sealFields = keys?.privateKey ? await seal(record, keys.privateKey) : {};
  const participants = [
    ...(data.participants ?? []).filter((p) => p.role !== "enterprise_rep"),
    { role: "enterprise_rep", name: repName.trim() },
  ];
  await saveRecord(db, "inspection", inspection.id, {
    status: "submitted", finished_at: finishedAt, participants, ...sealFields,
    ...positionFields(fix, "end", { now: now.getTime() }),
  }, { at: now, clearDraft: repDraftKey(inspection.id) });
  return { record, sealed: Boolean(keys?.privateKey) };
}
