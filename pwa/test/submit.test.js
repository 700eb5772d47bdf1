// The submit use case (src/domain/submit.js): a ready inspection is sealed with the device key and queued for
// sync in one save; anything not ready is refused with nothing written.
import { randomUUID } from "node:crypto";

import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";

import { openDatabase } from "../src/db/schema.js";
import { getDraft, pendingCount, pendingMutations, putDraft, recordGet, saveRecord, setMeta } from "../src/db/store.js";
import { canonicalJson } from "../src/domain/seal.js";
import { repDraftKey, SubmitRefused, submitInspection } from "../src/domain/submit.js";

const NOW = new Date("2026-06-10T03:30:00Z");
const STARTED = "2026-06-10T01:00:00Z";
const hash = (n) => String(n).repeat(64).slice(0, 64);
const ITEMS = [{ code: "A-1" }, { code: "A-2" }, { code: "B-1" }];

let db;
let keys;

beforeEach(async () => {
  db = await openDatabase(new IDBFactory());
  keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
});

/** Saves a ready inspection the way the screens do and returns what the inspection screen holds for it. */
async function readyInspection() {
  const id = randomUUID();
  const participants = [
    { role: "inspector", user_id: 7, name: "张三", badge_no: "0001" },
    { role: "inspector", name: "李四", badge_no: null },
    { role: "expert", name: "赵专家" },
    // A representative named at an earlier submission that came back: replaced by the one typed now.
    { role: "enterprise_rep", name: "旧代表" },
  ];
  const signatures = [
    { role: "inspector", name: "张三", sha256: hash(1), at: STARTED },
    { role: "inspector", name: "李四", sha256: hash(2), at: STARTED },
    { role: "enterprise_rep", name: "王五", sha256: hash(3), at: STARTED },
  ];
  const { record: inspection } = await saveRecord(db, "inspection", id, {
    enterprise_id: randomUUID(), catalogue_id: randomUUID(), kind: "county", started_at: STARTED, participants, signatures,
  });
  const answers = {};
  for (const [code, result] of [["A-1", "compliant"], ["A-2", "non_compliant"], ["B-1", "not_applicable"]]) {
    const { record } = await saveRecord(db, "item_result", randomUUID(), { inspection_id: id, item_code: code, result, note: code === "A-2" ? "破损" : undefined });
    answers[code] = { id: record.id, ...record.data };
  }
  const { record: hazard } = await saveRecord(db, "hazard", randomUUID(), {
    inspection_id: id, item_code: "A-2", level: "general", description: "防护罩破损", deadline: "2026-07-10",
  });
  const photo = (entityId, n) => ({ id: randomUUID(), data: { entity_id: entityId, sha256: hash(n) } });
  const photos = {
    [answers["A-2"].id]: [photo(answers["A-2"].id, 4)],
    [hazard.id]: [photo(hazard.id, 5)],
    // Another inspection's photo, in the same replica: not this one's evidence.
    [randomUUID()]: [photo("x", 6)],
  };
  await saveRecord(db, "expert_opinion", randomUUID(), {
    inspection_id: id, expert_name: "赵专家", opinion: "整改", items: [{ item_code: "A-2", problem: "破损", suggestion: "更换" }],
    signature: { sha256: hash(7) },
  });
  await saveRecord(db, "expert_opinion", randomUUID(), { inspection_id: randomUUID(), expert_name: "别人", opinion: "x", items: [] });
  await putDraft(db, repDraftKey(id), " 王五 ");
  return {
    inspection, items: ITEMS, answers, hazards: { "A-2": hazard }, hazardDrafts: new Set(), photos, repName: " 王五 ",
    fix: { lat: 38.47, lon: 111.12, accuracy: 12, at: NOW.getTime() - 5000 }, now: NOW,
  };
}

describe("submitInspection: a ready inspection", () => {
  it("is sealed with the device key and queued for sync with the representative and the end position", async () => {
    await setMeta(db, "deviceKey", keys);
    const screen = await readyInspection();
    const before = await pendingCount(db);

    const { record, sealed } = await submitInspection(db, screen);

    expect(sealed).toBe(true);
    const saved = (await recordGet(db, "inspection", screen.inspection.id)).data;
    expect(saved.status).toBe("submitted");
    expect(saved.finished_at).toBe(NOW.toISOString());
    expect(saved.participants.map((p) => [p.role, p.name])).toEqual([
      ["inspector", "张三"], ["inspector", "李四"], ["expert", "赵专家"], ["enterprise_rep", "王五"],
    ]);
    expect([saved.end_lat, saved.end_lon, saved.end_accuracy_m]).toEqual([38.47, 111.12, 12]);
    // The record sealed is the one returned, and it holds only this inspection's photos and opinions.
    expect(saved.sealed_record).toBe(canonicalJson(record));
    expect(record.inspection.finished_at).toBe(NOW.toISOString());
    expect(record.photos).toEqual([hash(4), hash(5)]);
    expect(record.results).toEqual([["A-1", "compliant", null], ["A-2", "non_compliant", "破损"], ["B-1", "not_applicable", null]]);
    expect(record.hazards.map((h) => h.description)).toEqual(["防护罩破损"]);
    expect(record.expert_opinions.map((o) => o.expert_name)).toEqual(["赵专家"]);
    const signature = Uint8Array.from(atob(saved.device_signature.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const verified = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" }, keys.publicKey, signature, new TextEncoder().encode(saved.sealed_record),
    );
    expect(verified).toBe(true);
    // Queued: one outbox mutation carries the whole submission; the typed name's draft went with it.
    expect(await pendingCount(db)).toBe(before + 1);
    const mutation = (await pendingMutations(db)).at(-1);
    expect(mutation).toMatchObject({ entity: "inspection", id: screen.inspection.id, op: "upsert", at: NOW.toISOString() });
    expect(mutation.data).toMatchObject({ status: "submitted", sealed_record: saved.sealed_record, sealed_sha256: saved.sealed_sha256 });
    expect(await getDraft(db, repDraftKey(screen.inspection.id))).toBeUndefined();
  });

  it("travels unsealed when the device has no key, as it always has", async () => {
    const screen = await readyInspection();
    const { sealed } = await submitInspection(db, { ...screen, fix: null });
    expect(sealed).toBe(false);
    const saved = (await recordGet(db, "inspection", screen.inspection.id)).data;
    expect(saved.status).toBe("submitted");
    expect(saved).not.toHaveProperty("sealed_record");
    expect(saved).not.toHaveProperty("device_signature");
    expect(saved).not.toHaveProperty("end_lat");
  });
});

const withData = (screen, change) => ({ ...screen, inspection: { ...screen.inspection, data: { ...screen.inspection.data, ...change } } });
const withAnswer = (screen, code, result) => ({ ...screen, answers: { ...screen.answers, [code]: { ...screen.answers[code], result } } });

describe("submitInspection: refused, with nothing written", () => {
  it.each([
    ["already submitted", "submit.sealed", null, (s) => withData(s, { status: "submitted" })],
    ["approved", "submit.sealed", null, (s) => withData(s, { status: "approved" })],
    ["an item unanswered", "submit.blocked", "block.unanswered", (s) => ({ ...s, answers: { "A-1": s.answers["A-1"], "A-2": s.answers["A-2"] } })],
    ["an item left not checked", "submit.blocked", "block.unanswered", (s) => withAnswer(s, "B-1", "not_checked")],
    ["a finding without its hazard", "submit.blocked", "block.hazardMissing", (s) => ({ ...s, hazards: {} })],
    ["a hazard typed but not saved", "submit.blocked", "block.hazardUnsaved", (s) => ({ ...s, hazards: {}, hazardDrafts: new Set(["A-2"]) })],
    ["a saved hazard with unsaved changes", "submit.blocked", "block.hazardEdited", (s) => ({ ...s, hazardDrafts: new Set(["A-2"]) })],
    ["an inspector who has not signed", "submit.blocked", "block.inspectorSign",
      (s) => withData(s, { signatures: s.inspection.data.signatures.filter((sig) => sig.name !== "李四") })],
    ["no representative named", "submit.blocked", "block.repName", (s) => ({ ...s, repName: "  " })],
    ["the representative named is not the one who signed", "submit.blocked", "block.repSign", (s) => ({ ...s, repName: "钱六" })],
  ])("%s", async (_, code, reason, change) => {
    await setMeta(db, "deviceKey", keys);
    const screen = await readyInspection();
    const before = await pendingCount(db);
    const stored = await recordGet(db, "inspection", screen.inspection.id);

    const refusal = await submitInspection(db, change(screen)).catch((error) => error);

    expect(refusal).toBeInstanceOf(SubmitRefused);
    expect(refusal.code).toBe(code);
    expect(refusal.reasons.map((r) => r.key)).toEqual(reason ? [reason] : []);
    expect(await pendingCount(db)).toBe(before);
    expect(await recordGet(db, "inspection", screen.inspection.id)).toEqual(stored);
    expect(await getDraft(db, repDraftKey(screen.inspection.id))).toBe(" 王五 ");
  });
});
