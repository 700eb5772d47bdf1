// Starting an inspection at an enterprise and working through its checklist. Every answer is saved as it
// is given (no save button): the record and its outbox mutation in one IndexedDB transaction.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  deleteDraft, discardBlobIfUnused, draftsWithPrefix, getDraft, getMeta, putBlob, recordList, replicaList,
  saveRecord, setMeta, sha256Hex,
} from "../db/store.js";
import {
  answerChoices, applicableItems, defaultDeadline, groupItems, progress, sectionProgress, submitBlockers,
} from "../domain/checklist.js";
import { bureauZone, formatDateTime, formatDay, todayIn } from "../domain/clock.js";
import { hazardsToFollowUp } from "../domain/followup.js";
import { positionFields, positionWarning } from "../domain/geo.js";
import { isSealed, repDraftKey, SubmitRefused, submitInspection } from "../domain/submit.js";
import { canvasBlob, encodePhoto, watermarkLines } from "../photo/encode.js";
import { openCamera } from "./camera.js";
import { ExpertOpinionPanel } from "./expert-opinion.jsx";
import { frameCanvas, PHOTO_FALLBACKS } from "./canvas.js";
import { PrintView } from "./print.jsx";
import { usePosition } from "./position.js";
import { SignaturePad } from "./signature.jsx";
import { StoredImage } from "./stored-image.jsx";
import { useDraftWriter } from "./drafts.js";
import { problemText, sectorLabel, t, tf } from "./i18n.js";
import { dayInputProps, isRealDay, localValidation } from "./validation.js";

const KINDS = ["county", "unannounced", "city_sampling", "look_back"];

const nowIso = () => new Date().toISOString();

/** An enterprise's card with the form that starts an inspection there. */
export function EnterprisePage({ lang, db, enterprise, catalogue, me, colleagues = [], onStart, onBack }) {
  const [error, setError] = useState("");
  const [partner, setPartner] = useState("");
  const [last, setLast] = useState(null);
  // Watching from the enterprise's card, so that a fix is usually there by the time the form is filled in.
  const fix = usePosition();
  // Inspectors of the region who can still sign in (a disabled account stays in the replica, flagged).
  const others = colleagues.filter((c) => c.data && c.data.active !== false && c.data.user_id !== me?.id)
    .sort((a, b) => String(a.data.display_name).localeCompare(String(b.data.display_name), "zh-CN"));
  // The remembered partner is preselected, unless the inspector already chose (the read is asynchronous).
  const chose = useRef(false);
  useEffect(() => {
    getMeta(db, "lastPartner", null).then((remembered) => {
      setLast(remembered);
      if (chose.current) return;
      const known = remembered && others.find((c) => c.data.user_id === remembered.user_id);
      setPartner(known ? String(known.id) : remembered ? "other" : others.length ? "" : "other");
    });
  }, [db, colleagues.length]);
  const chosen = others.find((c) => String(c.id) === partner);
  const start = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const second = chosen
      ? { role: "inspector", user_id: chosen.data.user_id, name: chosen.data.display_name, badge_no: chosen.data.badge_no ?? null }
      : { role: "inspector", name: String(form.get("second") || "").trim(), badge_no: String(form.get("secondBadge") || "").trim() || null };
    if (!second.name) return setError(t(lang, "needTwoInspectors"));
    // Two signature pads under one name would let one signature count for both inspectors.
    if (second.name === (me?.display_name ?? "").trim()) return setError(t(lang, "partnerIsMe"));
    const id = crypto.randomUUID();
    try {
      await saveRecord(db, "inspection", id, {
        enterprise_id: enterprise.id,
        catalogue_id: catalogue.id,
        kind: String(form.get("kind")),
        started_at: nowIso(),
        ...positionFields(fix, "start"),
        participants: [
          { role: "inspector", user_id: me.id, name: me.display_name, badge_no: me.badge_no ?? null },
          second,
          ...String(form.get("experts") || "").split(/[,，、;；]/).map((n) => n.trim()).filter(Boolean)
            .map((name) => ({ role: "expert", name })),
        ],
      });
      // Remembered for the next inspection: the same pair usually works the whole campaign.
      await setMeta(db, "lastPartner", { user_id: second.user_id ?? null, name: second.name, badge_no: second.badge_no });
      onStart(id);
    } catch (problem) {
      setError(problemText(lang, problem));
    }
  };
  const data = enterprise.data;
  return (
    <section class="card enterprise-page">
      <button class="secondary" onClick={onBack}>{t(lang, "back")}</button>
      <h2>{data.name}</h2>
      <p class="meta">{data.credit_code} · {data.region_name} · {data.address}</p>
      <p>{(data.sectors || []).map((s) => <span class="tag" key={s}>{sectorLabel(lang, s)}</span>)}</p>
      <form onSubmit={start} {...localValidation(lang)}>
        <label>{t(lang, "kind")}
          <select name="kind">{KINDS.map((k) => <option value={k} key={k}>{t(lang, `kind.${k}`)}</option>)}</select>
        </label>
        {others.length > 0 && (
          <label>{t(lang, "teamPick")}
            <select name="partner" value={partner} required onChange={(e) => { chose.current = true; setPartner(e.currentTarget.value); }}>
              <option value="">{t(lang, "teamNone")}</option>
              {others.map((c) => (
                <option value={String(c.id)} key={c.id}>
                  {c.data.display_name}{c.data.badge_no ? `（${c.data.badge_no}）` : ""}{last?.user_id === c.data.user_id ? ` · ${t(lang, "lastPartner")}` : ""}
                </option>
              ))}
              <option value="other">{t(lang, "teamOther")}</option>
            </select>
          </label>
        )}
        {(partner === "other" || others.length === 0) && (
          <>
            <label>{t(lang, "secondInspector")}<input name="second" required defaultValue={last && !last.user_id ? last.name : ""} /></label>
            <label>{t(lang, "badgeNo")}<input name="secondBadge" defaultValue={last && !last.user_id ? (last.badge_no ?? "") : ""} /></label>
          </>
        )}
        <label>{t(lang, "experts")}<input name="experts" placeholder={t(lang, "expertsHint")} /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={!catalogue}>{t(lang, "startInspection")}</button>
      </form>
      <HazardFollowUp lang={lang} db={db} enterpriseId={enterprise.id} zone={bureauZone(catalogue)} />
    </section>
  );
}

/** The enterprise's open hazards; a reported rectification is accepted or rejected here, offline (回头看). */
function HazardFollowUp({ lang, db, enterpriseId, zone }) {
  const [rows, setRows] = useState([]);
  const [reasons, setReasons] = useState({});
  const [error, setError] = useState("");
  const load = async () => {
    setRows(hazardsToFollowUp({
      hazards: await replicaList(db, "hazard"), pulledEvents: await replicaList(db, "hazard_event"),
      localEvents: await recordList(db, "hazard_event"), enterpriseId,
    }));
  };
  useEffect(() => { load(); }, [enterpriseId]);
  const decide = async (hazard, kind) => {
    const comment = String(reasons[hazard.id] ?? "").trim();
    if (kind === "rejected" && !comment) return setError(t(lang, "rejectNeedsReason"));
    setError("");
    // Saved with its outbox mutation at once, like every answer: it reaches the server at the next sync.
    await saveRecord(db, "hazard_event", crypto.randomUUID(), { hazard_id: hazard.id, kind, at: nowIso(), comment: comment || null });
    await load();
  };
  if (rows.length === 0) return null;
  return (
    <div class="follow-up" data-testid="follow-up">
      <h3>{t(lang, "openHazards")} ({rows.length})</h3>
      {error && <p class="error" role="alert">{error}</p>}
      <ul>
        {rows.map(({ hazard, report, decision, canDecide }) => (
          <li key={hazard.id} data-hazard-id={hazard.id}>
            <div class="name">{hazard.data.item_code ? `${hazard.data.item_code} · ` : ""}{hazard.data.description}</div>
            <div class="meta">{t(lang, `hazardState.${hazard.data.state}`)} · {t(lang, "nearestDeadline")} {formatDay(hazard.data.deadline, lang, zone)}</div>
            {report && <div class="meta">{t(lang, "fixReported")} {formatDay(report.at, lang, zone)}{report.comment ? `：${report.comment}` : ""}</div>}
            {decision && <div class="ok" data-testid="decision">{t(lang, `decided.${decision}`)}</div>}
            {canDecide && (
              <div class="decide">
                <input placeholder={t(lang, "decisionComment")} value={reasons[hazard.id] ?? ""}
                  onInput={(e) => setReasons({ ...reasons, [hazard.id]: e.currentTarget.value })} />
                <button type="button" onClick={() => decide(hazard, "accepted")}>{t(lang, "acceptFix")}</button>
                <button type="button" class="secondary" onClick={() => decide(hazard, "rejected")}>{t(lang, "rejectFix")}</button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

const FIVE_IN_PLACE = ["measures", "responsibility", "funds", "time_limit", "contingency_plan"];

/** The draft key of an item's hazard form while it has unsaved typing. */
const hazardDraftKey = (inspectionId, code) => `hazard:${inspectionId}:${code}`;

// Everything the form holds, as typed (a draft): restored into the form after a restart.
function formFields(form) {
  const fields = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    fields[element.name] = element.type === "checkbox" ? element.checked : element.value;
  }
  return fields;
}

function HazardForm({ lang, db, inspection, item, enterpriseId, existing, fiveTerms, today, zone, draft, drafts, onDraft, onSaved }) {
  const d = existing?.data ?? {};
  const [level, setLevel] = useState(draft?.level ?? d.level ?? item.default_level);
  const [error, setError] = useState("");
  const key = hazardDraftKey(inspection.id, item.code);
  // The 五定 set is the catalogue's (data, per locality); the deadline has its own date field.
  const terms = (fiveTerms?.length ? fiveTerms : [["responsible_person", t(lang, "responsible")], ["measures", t(lang, "measures")]])
    .map((term) => (Array.isArray(term) ? term : [term.key, term.label]))
    .filter(([name]) => name !== "deadline");
  // A value as typed before a restart, else as saved.
  const v = (name, saved) => (draft && name in draft ? draft[name] : saved);
  const keep = (event) => {
    const fields = { ...formFields(event.currentTarget), level };
    drafts.keep(key, fields);
    onDraft(item.code, fields);
  };
  const save = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const reason = String(form.get("level_reason") || "").trim();
    if (level !== item.default_level && !reason) return setError(t(lang, "levelReasonNeeded"));
    const days = ["deadline", "reported_regulator", "reported_congress"].map((name) => String(form.get(name) || "").trim());
    const bad = days.find((day) => day && !isRealDay(day));
    if (bad) return setError(tf(lang, "invalid.dateValue", { value: bad }));
    const major = level === "major";
    const funds = String(form.get("funds") || "").trim();
    drafts.cancel(key);
    try {
      await saveRecord(db, "hazard", existing?.id ?? crypto.randomUUID(), {
        enterprise_id: enterpriseId,
        inspection_id: inspection.id,
        item_code: item.code,
        description: String(form.get("description")),
        place: String(form.get("place") || "") || null,
        level,
        level_reason: reason || null,
        found_at: d.found_at ?? nowIso(),
        deadline: days[0],
        terms: Object.fromEntries(terms.map(([name]) => [name, String(form.get(`term.${name}`) || "")])),
        funds_yuan: funds ? funds : null,
        five_in_place: major ? Object.fromEntries(FIVE_IN_PLACE.map((k) => [k, form.get(`five.${k}`) === "on"])) : null,
        stop_production: major && form.get("stop_production") === "on",
        reported_to_regulator_on: (major && days[1]) || null,
        reported_to_workers_congress_on: (major && days[2]) || null,
      }, { clearDraft: key });
      setError("");
      onSaved();
    } catch (problem) {
      setError(problemText(lang, problem));
    }
  };
  const day = dayInputProps(lang);
  return (
    <form class="hazard" onSubmit={save} onInput={keep} data-item={item.code} {...localValidation(lang)}>
      <h4>{t(lang, "hazard")}</h4>
      <label>{t(lang, "hazardDescription")}<textarea name="description" required defaultValue={v("description", d.description ?? "")} /></label>
      <label>{t(lang, "place")}<input name="place" defaultValue={v("place", d.place ?? "")} /></label>
      <label>{t(lang, "level")}
        <select name="level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
          <option value="general">{t(lang, "level.general")}</option>
          <option value="major">{t(lang, "level.major")}</option>
        </select>
      </label>
      {level !== item.default_level && <label>{t(lang, "levelReason")}<input name="level_reason" defaultValue={v("level_reason", d.level_reason ?? "")} /></label>}
      <fieldset>
        <legend>{t(lang, "fiveTerms")}</legend>
        <label>{t(lang, "deadline")}<input name="deadline" required {...day} defaultValue={v("deadline", d.deadline ?? defaultDeadline(today))} />
          <span class="meta" data-testid="deadline-words">{formatDay(v("deadline", d.deadline ?? defaultDeadline(today)), lang, zone)}</span></label>
        {terms.map(([name, label]) => (
          <label key={name}>{label}<input name={`term.${name}`} defaultValue={v(`term.${name}`, d.terms?.[name] ?? "")} /></label>
        ))}
        <label>{t(lang, "funds")}<input name="funds" inputMode="decimal" pattern="[0-9]+(\.[0-9]{1,2})?" data-invalid="invalid.amount" defaultValue={v("funds", d.funds_yuan ?? "")} /></label>
      </fieldset>
      {level === "major" && (
        <fieldset class="major">
          <legend>{t(lang, "fiveInPlace")}</legend>
          {FIVE_IN_PLACE.map((k) => (
            <label class="check" key={k}><input type="checkbox" name={`five.${k}`} defaultChecked={v(`five.${k}`, d.five_in_place?.[k])} /> {t(lang, `five.${k}`)}</label>
          ))}
          <label class="check"><input type="checkbox" name="stop_production" defaultChecked={v("stop_production", d.stop_production)} /> {t(lang, "stopProduction")}</label>
          <label>{t(lang, "reportedRegulator")}<input name="reported_regulator" {...day} defaultValue={v("reported_regulator", d.reported_to_regulator_on ?? "")} /></label>
          <label>{t(lang, "reportedCongress")}<input name="reported_congress" {...day} defaultValue={v("reported_congress", d.reported_to_workers_congress_on ?? "")} /></label>
        </fieldset>
      )}
      {!existing && <p class="hint" data-testid="hazard-photo-hint">{t(lang, "hazardPhotosAfterSave")}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit">{existing ? t(lang, "hazardUpdate") : t(lang, "hazardSave")}</button>
      {existing && !draft && <span class="saved">✓ {t(lang, "saved")}</span>}
    </form>
  );
}

/** Photos as evidence for one answer: picked or taken, re-encoded with a watermark, saved with their hashes. */
function PhotoEvidence({ lang, db, entityType, entityId, photos, fix, enterprise, disabled, onSaved }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const warning = positionWarning(fix, enterprise.data);
  const [camera, setCamera] = useState(null);
  const video = useRef(null);
  const picker = useRef(null);
  useEffect(() => {
    if (camera && video.current) {
      video.current.srcObject = camera;
      video.current.play();
    }
    return undefined;
  }, [camera]);
  useEffect(() => () => camera?.getTracks().forEach((track) => track.stop()), [camera]);
  const startCamera = async () => {
    try {
      setCamera(await openCamera());
    } catch {
      setError(t(lang, "noCamera"));
    }
  };
  const shoot = async () => {
    const v = video.current;
    const frame = frameCanvas(v.videoWidth, v.videoHeight);
    frame.getContext("2d").drawImage(v, 0, 0);
    const shot = await canvasBlob(frame, "image/jpeg", 0.95);
    camera.getTracks().forEach((track) => track.stop());
    setCamera(null);
    await save([shot]);
  };
  const take = async (event) => {
    const files = [...event.currentTarget.files];
    event.currentTarget.value = "";
    await save(files);
  };
  const save = async (files) => {
    setBusy(true);
    setError("");
    try {
      for (const file of files) {
        const at = new Date();
        const photo = await encodePhoto(file, { lines: watermarkLines({ at, position: fix, enterpriseName: enterprise.data.name }), fallbacks: PHOTO_FALLBACKS });
        await putBlob(db, { sha256: photo.sha256, bytes: photo.bytes, mime: photo.mime });
        await saveRecord(db, "photo", crypto.randomUUID(), {
          sha256: photo.sha256, original_sha256: photo.originalSha256, entity_type: entityType, entity_id: entityId,
          captured_at: at.toISOString(), lat: fix?.lat ?? null, lon: fix?.lon ?? null, accuracy_m: fix?.accuracy ?? null,
          fix_at: fix ? new Date(fix.at).toISOString() : null, mime: photo.mime, size: photo.size,
          width: photo.width, height: photo.height,
        });
      }
      onSaved();
    } catch (problem) {
      setError(problemText(lang, problem));
    } finally {
      setBusy(false);
    }
  };
  // Taken back before submission: the server keeps the record as deleted; the bytes are never uploaded.
  const remove = async (photo) => {
    await saveRecord(db, "photo", photo.id, {}, { op: "delete" });
    await discardBlobIfUnused(db, photo.data.sha256);
    onSaved();
  };
  const retake = async (photo) => {
    await remove(photo);
    picker.current?.click();
  };
  return (
    <div class="photos" data-entity={entityId}>
      {photos.map((p) => (
        <figure class="photo" key={p.id} data-photo-id={p.id}>
          <StoredImage db={db} sha256={p.data.sha256} />
          {!disabled && (
            <figcaption>
              <button type="button" class="secondary small delete-photo" onClick={() => remove(p)}>{t(lang, "deletePhoto")}</button>
              <button type="button" class="secondary small retake-photo" onClick={() => retake(p)}>{t(lang, "retakePhoto")}</button>
            </figcaption>
          )}
        </figure>
      ))}
      {!disabled && (
        <label class="photo-button">
          {busy ? t(lang, "photoSaving") : `📷 ${t(lang, "takePhoto")}`}
          <input ref={picker} type="file" accept="image/*" capture="environment" multiple disabled={busy} onChange={take} />
        </label>
      )}
      {!disabled && !camera && <button class="secondary live-camera" onClick={startCamera}>{t(lang, "liveCamera")}</button>}
      {camera && (
        <div class="live">
          <video ref={video} class="camera" playsInline muted />
          <button class="shutter" onClick={shoot}>{t(lang, "shutter")}</button>
        </div>
      )}
      {!disabled && warning && <span class="warn" data-testid="position-warning">{t(lang, `position.${warning}`)}</span>}
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

/** An item's note: every keystroke kept as a draft within ~200 ms, saved as the answer's note on leaving the box. */
function NoteField({ lang, db, answer, disabled, draft, drafts, onSave }) {
  const key = answer ? `note:${answer.id}` : null;
  return (
    <textarea placeholder={t(lang, "note")} disabled={disabled || !answer} defaultValue={draft ?? answer?.note ?? ""}
      onInput={(e) => key && drafts.keep(key, e.currentTarget.value)}
      onBlur={(e) => {
        if (!key) return;
        const text = e.currentTarget.value;
        drafts.cancel(key);
        if (text !== (answer.note ?? "")) onSave(text, key);
        else deleteDraft(db, key);
      }} />
  );
}

/** The checklist of one inspection: three large buttons per item, a note, photos, a hazard for a finding, submit. */
export function InspectionPage({ lang, db, inspection, enterprise, catalogue, syncBadge, onChanged, onBack }) {
  const [answers, setAnswers] = useState({});
  const [hazards, setHazards] = useState({});
  const [photos, setPhotos] = useState({});
  const [hazardDrafts, setHazardDrafts] = useState({});
  const [noteDrafts, setNoteDrafts] = useState({});
  const [asking, setAsking] = useState(null);
  const [printing, setPrinting] = useState(null);
  const [loaded, setLoaded] = useState(false);
  const drafts = useDraftWriter(db);
  const fix = usePosition();
  const [error, setError] = useState("");
  const zone = bureauZone(catalogue);
  const today = todayIn(zone);
  const items = useMemo(
    () => (catalogue && enterprise ? applicableItems(catalogue.data, enterprise.data) : []),
    [catalogue, enterprise],
  );
  const groups = useMemo(() => groupItems(items), [items]);
  const signatures = inspection.data.signatures ?? [];
  const repKey = repDraftKey(inspection.id);
  const [repName, setRepName] = useState(signatures.find((sig) => sig.role === "enterprise_rep")?.name ?? "");
  const load = async () => {
    const mine = (rows) => rows.filter((r) => r.data.inspection_id === inspection.id);
    const byCode = Object.fromEntries(mine(await recordList(db, "item_result")).map((r) => [r.data.item_code, { id: r.id, ...r.data }]));
    // A hazard withdrawn here (its answer changed) is gone from the checklist; the withdrawal travels as an event.
    const withdrawn = new Set((await recordList(db, "hazard_event")).filter((e) => e.data.kind === "withdrawn").map((e) => e.data.hazard_id));
    setAnswers(byCode);
    setHazards(Object.fromEntries(mine(await recordList(db, "hazard")).filter((r) => !withdrawn.has(r.id)).map((r) => [r.data.item_code, r])));
    const byEntity = {};
    for (const photo of await recordList(db, "photo")) (byEntity[photo.data.entity_id] ??= []).push(photo);
    setPhotos(byEntity);
    const prefix = `hazard:${inspection.id}:`;
    const forms = await draftsWithPrefix(db, prefix);
    setHazardDrafts(Object.fromEntries(Object.entries(forms).map(([key, value]) => [key.slice(prefix.length), value])));
    // A note typed when the app was killed (no blur ever came) becomes the answer's note now: left as a draft,
    // a submit could seal the record without it.
    const notes = {};
    for (const answer of Object.values(byCode)) {
      const key = `note:${answer.id}`;
      const note = await getDraft(db, key);
      if (note === undefined) continue;
      notes[answer.id] = note;
      if (note !== (answer.note ?? "")) {
        await saveRecord(db, "item_result", answer.id, { note, answered_at: nowIso() }, { clearDraft: key });
        answer.note = note;
      } else {
        await deleteDraft(db, key);
      }
    }
    setAnswers({ ...byCode });
    setNoteDrafts(notes);
    setLoaded(true);
  };
  useEffect(() => {
    load();
    getDraft(db, repKey).then((name) => name !== undefined && setRepName(name));
  }, [inspection.id]);

  const sealed = isSealed(inspection);
  const saveAnswer = async (item, fields, clearDraft = null) => {
    const previous = answers[item.code];
    await saveRecord(db, "item_result", previous?.id ?? crypto.randomUUID(), {
      inspection_id: inspection.id, item_code: item.code, result: previous?.result ?? fields.result,
      ...fields, answered_at: nowIso(),
    }, { clearDraft });
    await load();
    onChanged();
  };
  const choose = (item, result) => {
    const previous = answers[item.code];
    const hadHazard = hazards[item.code] || hazardDrafts[item.code];
    if (previous?.result === "non_compliant" && result !== "non_compliant" && hadHazard) {
      // The answer and its hazard must agree: ask before the hazard is withdrawn.
      return setAsking({ item, result });
    }
    return saveAnswer(item, { result });
  };
  const withdrawAndChange = async () => {
    const { item, result } = asking;
    const hazard = hazards[item.code];
    const key = hazardDraftKey(inspection.id, item.code);
    drafts.cancel(key);
    if (hazard) {
      await saveRecord(db, "hazard_event", crypto.randomUUID(), {
        // The log on the server is read by supervisors: the reason in Chinese whatever the tablet's language.
        hazard_id: hazard.id, kind: "withdrawn", at: nowIso(),
        comment: tf("zh", "withdrawComment", { to: t("zh", answerChoices(item).find((c) => c.result === result).label) }),
      }, { clearDraft: key });
    } else {
      await deleteDraft(db, key);
    }
    setAsking(null);
    await saveAnswer(item, { result });
  };
  const answered = progress(items, answers);
  const inspectors = (inspection.data.participants ?? []).filter((p) => p.role === "inspector");
  const signedBy = (role, name) => signatures.find((sig) => sig.role === role && sig.name === name);
  const repSigned = signatures.find((sig) => sig.role === "enterprise_rep");
  const blockers = submitBlockers({
    items, answers, hazards, hazardDrafts: new Set(Object.keys(hazardDrafts)), inspectors, signatures, repName,
  });
  const checklistReady = answered.complete && !blockers.some((b) => b.key.startsWith("block.hazard"));
  const sign = async (role, name, png) => {
    // Saved at once, like everything else: the signature's PNG as a blob, its hash on the inspection.
    const sha256 = await sha256Hex(png);
    await putBlob(db, { sha256, bytes: png, mime: "image/png" });
    const next = [...signatures.filter((sig) => !(sig.role === role && sig.name === name)), { role, name, sha256, at: nowIso() }];
    await saveRecord(db, "inspection", inspection.id, { signatures: next });
    onChanged();
  };
  const unsign = async (signature) => {
    await saveRecord(db, "inspection", inspection.id, { signatures: signatures.filter((sig) => sig !== signature) });
    await discardBlobIfUnused(db, signature.sha256);
    onChanged();
  };
  const typeRep = (value) => {
    setRepName(value);
    drafts.keep(repKey, value);
  };
  const reasonText = (b) => tf(lang, b.key, { ...b, items: (b.items ?? []).join("、") });
  // Only reached when the screen was behind (the button is disabled while there are blockers).
  const refusalText = (refusal) =>
    (refusal.code === "submit.sealed" ? t(lang, "alreadySubmitted") : refusal.reasons.map(reasonText).join("；"));
  const submit = async () => {
    try {
      drafts.cancel(repKey);
      await submitInspection(db, {
        inspection, items, answers, hazards, hazardDrafts: new Set(Object.keys(hazardDrafts)), photos, repName, fix,
      });
      onChanged();
      onBack();
    } catch (problem) {
      setError(problem instanceof SubmitRefused ? refusalText(problem) : problemText(lang, problem));
    }
  };
  if (printing) {
    return (
      <PrintView lang={lang} db={db} kind={printing} inspection={inspection} enterprise={enterprise} catalogue={catalogue}
        answers={answers} hazards={Object.values(hazards)} photos={photos} onClose={() => setPrinting(null)} />
    );
  }
  const sectionId = (group) => `section-${group.section}-${group.sector ?? "management"}`;
  return (
    <section class="card inspection-page">
      <div class="inspection-bar" data-testid="inspection-bar">
        <button class="secondary" onClick={onBack}>{t(lang, "back")}</button>
        <span class="progress" data-testid="progress">{t(lang, "progress")} {answered.answered}/{answered.total}</span>
        <nav class="sections" aria-label={t(lang, "sections")}>
          {sectionProgress(groups, answers).map((p, index) => (
            <a key={index} href={`#${sectionId(groups[index])}`} class={p.complete ? "chip done" : "chip"} data-testid="section-chip">
              {groups[index].section === "key" ? sectorLabel(lang, groups[index].sector) : t(lang, "managementItems")} {p.answered}/{p.total}
            </a>
          ))}
        </nav>
        {syncBadge}
      </div>
      <h2>{enterprise?.data.name}</h2>
      {!sealed && <p class="hint">{t(lang, "answerHint")}</p>}
      {groups.map((group) => (
        <div class="group" key={sectionId(group)} id={sectionId(group)}>
          <h3>{group.section === "key" ? `${t(lang, "keyItems")} · ${sectorLabel(lang, group.sector)}` : t(lang, "managementItems")}</h3>
          {group.items.map((item) => {
            const current = answers[item.code];
            return (
              <article class="item" key={item.code} data-code={item.code}>
                <p><strong>{item.code}</strong> {item.text}</p>
                <div class="choices" role="group">
                  {answerChoices(item).map(({ result, label }) => (
                    <button key={result} class={current?.result === result ? `choice chosen ${result}` : `choice ${result}`}
                      aria-pressed={current?.result === result} disabled={sealed}
                      onClick={() => choose(item, result)}>{t(lang, label)}</button>
                  ))}
                </div>
                {asking?.item.code === item.code && (
                  <div class="ask" role="alertdialog" data-testid="withdraw-ask">
                    <p>{tf(lang, hazards[item.code] ? "withdrawAsk" : "withdrawDraftAsk", { to: t(lang, answerChoices(item).find((c) => c.result === asking.result).label) })}</p>
                    <button class="danger" onClick={withdrawAndChange}>{t(lang, "withdrawConfirm")}</button>
                    <button class="secondary" onClick={() => setAsking(null)}>{t(lang, "withdrawKeep")}</button>
                  </div>
                )}
                {loaded && (
                  <NoteField key={current?.id ?? "none"} lang={lang} db={db} answer={current} disabled={sealed}
                    draft={current ? noteDrafts[current.id] : undefined} drafts={drafts}
                    onSave={(note, key) => saveAnswer(item, { note }, key)} />
                )}
                {current && (
                  <PhotoEvidence lang={lang} db={db} entityType="item_result" entityId={current.id}
                    photos={photos[current.id] ?? []} fix={fix} enterprise={enterprise} disabled={sealed}
                    onSaved={() => { load(); onChanged(); }} />
                )}
                {current?.result === "non_compliant" && !sealed && loaded && (
                  <HazardForm key={hazards[item.code]?.id ?? "new"} lang={lang} db={db} inspection={inspection} item={item}
                    enterpriseId={enterprise.id} existing={hazards[item.code]} fiveTerms={catalogue?.data.five_terms}
                    today={today} zone={zone} draft={hazardDrafts[item.code]} drafts={drafts}
                    onDraft={(code, fields) => setHazardDrafts((known) => (known[code] ? known : { ...known, [code]: fields }))}
                    onSaved={() => { load(); onChanged(); }} />
                )}
                {current?.result === "non_compliant" && hazards[item.code] && (
                  <div class="hazard-photos">
                    <span>{t(lang, "hazardPhotos")}</span>
                    <PhotoEvidence lang={lang} db={db} entityType="hazard" entityId={hazards[item.code].id}
                      photos={photos[hazards[item.code].id] ?? []} fix={fix} enterprise={enterprise} disabled={sealed}
                      onSaved={() => { load(); onChanged(); }} />
                  </div>
                )}
              </article>
            );
          })}
        </div>
      ))}
      <ExpertOpinionPanel lang={lang} db={db} inspection={inspection} items={items} hazards={Object.values(hazards)}
        disabled={sealed} onChanged={onChanged} />
      {!sealed && (
        <section class="signatures" data-testid="signatures">
          <h3>{t(lang, "signatures")}</h3>
          {!checklistReady && <p class="hint" data-testid="sign-later">{t(lang, "signAfterChecklist")}</p>}
          {inspectors.map((p) => (
            <SignaturePad key={p.name} lang={lang} label={`${t(lang, "inspector")} ${p.name}`} testId={`sign-inspector-${p.name}`}
              signed={signedBy("inspector", p.name)} disabled={!checklistReady} db={db}
              onSigned={(png) => sign("inspector", p.name, png)} onRedo={unsign} />
          ))}
          <label>{t(lang, "enterpriseRep")}<input name="rep" value={repName} onInput={(e) => typeRep(e.currentTarget.value)} disabled={Boolean(repSigned)} /></label>
          <SignaturePad lang={lang} label={`${t(lang, "enterpriseRep")} ${repName}`} testId="sign-enterprise-rep" db={db}
            signed={repSigned} disabled={!checklistReady || !repName.trim()} onSigned={(png) => sign("enterprise_rep", repName.trim(), png)}
            onRedo={unsign} />
        </section>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {!sealed && blockers.length > 0 && (
        <div class="blockers" data-testid="submit-blockers">
          <strong>{t(lang, "submitWhy")}</strong>
          <ul>{blockers.map((b, index) => <li key={index}>{reasonText(b)}</li>)}</ul>
        </div>
      )}
      {!sealed && (
        <button class="submit" disabled={blockers.length > 0} onClick={submit}>
          {t(lang, "submit")} ({answered.answered}/{answered.total})
        </button>
      )}
      {sealed && <p class="ok">{t(lang, "submitted")}</p>}
      {sealed && (
        <div class="print-actions">
          <button onClick={() => setPrinting("record")} data-testid="print-record">{t(lang, "printRecord")}</button>
          {Object.keys(hazards).length > 0 && <button onClick={() => setPrinting("order")} data-testid="print-order">{t(lang, "printOrder")}</button>}
        </div>
      )}
    </section>
  );
}

/** The inspector's own inspections, newest first, to resume a draft. */
export function MyInspections({ lang, inspections, enterprises, zone, onOpen }) {
  if (!inspections.length) return null;
  const nameOf = (id) => enterprises.find((e) => e.id === id)?.data?.name ?? id;
  return (
    <section class="card">
      <h2>{t(lang, "myInspections")}</h2>
      <ul class="enterprises">
        {inspections.map((i) => (
          <li key={i.id} data-inspection-id={i.id} onClick={() => onOpen(i.id)}>
            <div class="name">{nameOf(i.data.enterprise_id)}</div>
            <div class="meta">{t(lang, `status.${i.data.status ?? "draft"}`)} · {formatDateTime(i.data.started_at, lang, zone)}</div>
            {i.data.status === "returned" && i.decision?.comment && (
              <div class="returned" data-testid="returned-comment">{t(lang, "returnedWith")}{i.decision.comment}</div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
