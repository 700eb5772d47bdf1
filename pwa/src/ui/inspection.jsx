// Starting an inspection at an enterprise and working through its checklist. Every answer is saved as it
// is given (no save button): the record and its outbox mutation in one IndexedDB transaction.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { getBlobBytes, getMeta, putBlob, recordList, replicaList, saveRecord, sha256Hex } from "../db/store.js";
import { applicableItems, defaultDeadline, groupItems, progress } from "../domain/checklist.js";
import { hazardsToFollowUp } from "../domain/followup.js";
import { positionFields, positionWarning } from "../domain/geo.js";
import { seal, sealedRecord } from "../domain/seal.js";
import { canvasBlob, encodePhoto, watermarkLines } from "../photo/encode.js";
import { openCamera } from "./camera.js";
import { frameCanvas, PHOTO_FALLBACKS } from "./canvas.js";
import { PrintView } from "./print.jsx";
import { usePosition } from "./position.js";
import { SignaturePad } from "./signature.jsx";
import { problemText, sectorLabel, t } from "./i18n.js";

const KINDS = ["county", "unannounced", "city_sampling", "look_back"];
const RESULTS = ["compliant", "non_compliant", "not_applicable"];

const nowIso = () => new Date().toISOString();

/** An enterprise's card with the form that starts an inspection there. */
export function EnterprisePage({ lang, db, enterprise, catalogue, me, onStart, onBack }) {
  const [error, setError] = useState("");
  // Watching from the enterprise's card, so that a fix is usually there by the time the form is filled in.
  const fix = usePosition();
  const start = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const second = String(form.get("second") || "").trim();
    if (!second) return setError(t(lang, "needTwoInspectors"));
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
          { role: "inspector", name: second, badge_no: String(form.get("secondBadge") || "") || null },
          ...String(form.get("experts") || "").split(/[,，、;；]/).map((n) => n.trim()).filter(Boolean)
            .map((name) => ({ role: "expert", name })),
        ],
      });
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
      <form onSubmit={start}>
        <label>{t(lang, "kind")}
          <select name="kind">{KINDS.map((k) => <option value={k} key={k}>{t(lang, `kind.${k}`)}</option>)}</select>
        </label>
        <label>{t(lang, "secondInspector")}<input name="second" required /></label>
        <label>{t(lang, "badgeNo")}<input name="secondBadge" /></label>
        <label>{t(lang, "experts")}<input name="experts" placeholder={t(lang, "expertsHint")} /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={!catalogue}>{t(lang, "startInspection")}</button>
      </form>
      <HazardFollowUp lang={lang} db={db} enterpriseId={enterprise.id} />
    </section>
  );
}

/** The enterprise's open hazards; a reported rectification is accepted or rejected here, offline (回头看). */
function HazardFollowUp({ lang, db, enterpriseId }) {
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
            <div class="meta">{t(lang, `hazardState.${hazard.data.state}`)} · {t(lang, "nearestDeadline")} {hazard.data.deadline ?? "—"}</div>
            {report && <div class="meta">{t(lang, "fixReported")} {String(report.at).slice(0, 10)}{report.comment ? `：${report.comment}` : ""}</div>}
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

function HazardForm({ lang, db, inspection, item, enterpriseId, existing, fiveTerms, onSaved }) {
  const [level, setLevel] = useState(existing?.data.level ?? item.default_level);
  const [error, setError] = useState("");
  const d = existing?.data ?? {};
  // The 五定 set is the catalogue's (data, per locality); the deadline has its own date field.
  const terms = (fiveTerms?.length ? fiveTerms : [["responsible_person", t(lang, "responsible")], ["measures", t(lang, "measures")]])
    .filter(([key]) => key !== "deadline");
  const save = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const reason = String(form.get("level_reason") || "").trim();
    if (level !== item.default_level && !reason) return setError(t(lang, "levelReasonNeeded"));
    const major = level === "major";
    const funds = String(form.get("funds") || "").trim();
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
        deadline: String(form.get("deadline")),
        terms: Object.fromEntries(terms.map(([key]) => [key, String(form.get(`term.${key}`) || "")])),
        funds_yuan: funds ? funds : null,
        five_in_place: major ? Object.fromEntries(FIVE_IN_PLACE.map((k) => [k, form.get(`five.${k}`) === "on"])) : null,
        stop_production: major && form.get("stop_production") === "on",
        reported_to_regulator_on: (major && String(form.get("reported_regulator") || "")) || null,
        reported_to_workers_congress_on: (major && String(form.get("reported_congress") || "")) || null,
      });
      setError("");
      onSaved();
    } catch (problem) {
      setError(problemText(lang, problem));
    }
  };
  return (
    <form class="hazard" onSubmit={save} data-item={item.code}>
      <h4>{t(lang, "hazard")}</h4>
      <label>{t(lang, "hazardDescription")}<textarea name="description" required defaultValue={d.description ?? ""} /></label>
      <label>{t(lang, "place")}<input name="place" defaultValue={d.place ?? ""} /></label>
      <label>{t(lang, "level")}
        <select value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
          <option value="general">{t(lang, "level.general")}</option>
          <option value="major">{t(lang, "level.major")}</option>
        </select>
      </label>
      {level !== item.default_level && <label>{t(lang, "levelReason")}<input name="level_reason" defaultValue={d.level_reason ?? ""} /></label>}
      <fieldset>
        <legend>{t(lang, "fiveTerms")}</legend>
        <label>{t(lang, "deadline")}<input name="deadline" type="date" required defaultValue={d.deadline ?? defaultDeadline()} /></label>
        {terms.map(([key, label]) => (
          <label key={key}>{label}<input name={`term.${key}`} defaultValue={d.terms?.[key] ?? ""} /></label>
        ))}
        <label>{t(lang, "funds")}<input name="funds" inputMode="decimal" pattern="[0-9]+(\.[0-9]{1,2})?" defaultValue={d.funds_yuan ?? ""} /></label>
      </fieldset>
      {level === "major" && (
        <fieldset class="major">
          <legend>{t(lang, "fiveInPlace")}</legend>
          {FIVE_IN_PLACE.map((k) => (
            <label class="check" key={k}><input type="checkbox" name={`five.${k}`} defaultChecked={d.five_in_place?.[k]} /> {t(lang, `five.${k}`)}</label>
          ))}
          <label class="check"><input type="checkbox" name="stop_production" defaultChecked={d.stop_production} /> {t(lang, "stopProduction")}</label>
          <label>{t(lang, "reportedRegulator")}<input type="date" name="reported_regulator" defaultValue={d.reported_to_regulator_on ?? ""} /></label>
          <label>{t(lang, "reportedCongress")}<input type="date" name="reported_congress" defaultValue={d.reported_to_workers_congress_on ?? ""} /></label>
        </fieldset>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit">{existing ? t(lang, "hazardUpdate") : t(lang, "hazardSave")}</button>
      {existing && <span class="saved">✓ {t(lang, "saved")}</span>}
    </form>
  );
}

function Thumbnail({ db, sha256 }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    let made = null;
    getBlobBytes(db, sha256).then((bytes) => {
      if (bytes) setUrl((made = URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }))));
    });
    return () => made && URL.revokeObjectURL(made);
  }, [sha256]);
  return url ? <img class="thumb" src={url} alt="" /> : <span class="thumb placeholder">✓</span>;
}

/** Photos as evidence for one answer: picked or taken, re-encoded with a watermark, saved with their hashes. */
function PhotoEvidence({ lang, db, entityType, entityId, photos, fix, enterprise, disabled, onSaved }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const warning = positionWarning(fix, enterprise.data);
  const [camera, setCamera] = useState(null);
  const video = useRef(null);
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
  return (
    <div class="photos" data-entity={entityId}>
      {photos.map((p) => <Thumbnail key={p.id} db={db} sha256={p.data.sha256} />)}
      {!disabled && (
        <label class="photo-button">
          {busy ? t(lang, "photoSaving") : `📷 ${t(lang, "takePhoto")}`}
          <input type="file" accept="image/*" capture="environment" multiple disabled={busy} onChange={take} />
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

/** The checklist of one inspection: three large buttons per item, a note, photos, a hazard for 不符合, submit. */
export function InspectionPage({ lang, db, inspection, enterprise, catalogue, onChanged, onBack }) {
  const [answers, setAnswers] = useState({});
  const [hazards, setHazards] = useState({});
  const [photos, setPhotos] = useState({});
  const [printing, setPrinting] = useState(null);
  const fix = usePosition();
  const [error, setError] = useState("");
  const items = useMemo(
    () => (catalogue && enterprise ? applicableItems(catalogue.data, enterprise.data) : []),
    [catalogue, enterprise],
  );
  const load = async () => {
    const mine = (rows) => rows.filter((r) => r.data.inspection_id === inspection.id);
    setAnswers(Object.fromEntries(mine(await recordList(db, "item_result")).map((r) => [r.data.item_code, { id: r.id, ...r.data }])));
    setHazards(Object.fromEntries(mine(await recordList(db, "hazard")).map((r) => [r.data.item_code, r])));
    const byEntity = {};
    for (const photo of await recordList(db, "photo")) (byEntity[photo.data.entity_id] ??= []).push(photo);
    setPhotos(byEntity);
  };
  useEffect(() => { load(); }, [inspection.id]);

  const sealed = inspection.data.status && inspection.data.status !== "draft";
  const answer = async (item, fields) => {
    const previous = answers[item.code];
    await saveRecord(db, "item_result", previous?.id ?? crypto.randomUUID(), {
      inspection_id: inspection.id, item_code: item.code, result: previous?.result ?? fields.result,
      ...fields, answered_at: nowIso(),
    });
    await load();
    onChanged();
  };
  const done = progress(items, answers);
  const missingHazards = items.filter((i) => answers[i.code]?.result === "non_compliant" && !hazards[i.code]);
  const signatures = inspection.data.signatures ?? [];
  const inspectors = (inspection.data.participants ?? []).filter((p) => p.role === "inspector");
  const signedBy = (role, name) => signatures.some((sig) => sig.role === role && sig.name === name);
  const [repName, setRepName] = useState(signatures.find((sig) => sig.role === "enterprise_rep")?.name ?? "");
  const repSigned = signatures.some((sig) => sig.role === "enterprise_rep");
  const allSigned = inspectors.every((p) => signedBy("inspector", p.name)) && repSigned;
  const sign = async (role, name, png) => {
    // Saved at once, like everything else: the signature's PNG as a blob, its hash on the inspection.
    const sha256 = await sha256Hex(png);
    await putBlob(db, { sha256, bytes: png, mime: "image/png" });
    const next = [...signatures.filter((sig) => !(sig.role === role && sig.name === name)), { role, name, sha256, at: nowIso() }];
    await saveRecord(db, "inspection", inspection.id, { signatures: next });
    onChanged();
  };
  const submit = async () => {
    try {
      const finished = { ...inspection, data: { ...inspection.data, finished_at: nowIso() } };
      // Only this inspection's photos: the replica holds every inspection's, and the seal names what this one proves.
      const mine = new Set([inspection.id, ...Object.values(answers).map((a) => a.id), ...Object.values(hazards).map((h) => h.id)]);
      const photoHashes = Object.entries(photos).filter(([entityId]) => mine.has(entityId)).flatMap(([, list]) => list.map((p) => p.data.sha256));
      const record = sealedRecord({ inspection: finished, answers, hazards: Object.values(hazards), photoHashes });
      const keys = await getMeta(db, "deviceKey");
      const sealFields = keys?.privateKey ? await seal(record, keys.privateKey) : {};
      const participants = [
        ...(inspection.data.participants ?? []).filter((p) => p.role !== "enterprise_rep"),
        { role: "enterprise_rep", name: repName },
      ];
      await saveRecord(db, "inspection", inspection.id, {
        status: "submitted", finished_at: finished.data.finished_at, participants, ...sealFields,
        ...positionFields(fix, "end"),
      });
      onChanged();
      onBack();
    } catch (problem) {
      setError(problemText(lang, problem));
    }
  };
  if (printing) {
    return (
      <PrintView lang={lang} db={db} kind={printing} inspection={inspection} enterprise={enterprise} catalogue={catalogue}
        answers={answers} hazards={Object.values(hazards)} photos={photos} onClose={() => setPrinting(null)} />
    );
  }
  return (
    <section class="card inspection-page">
      <button class="secondary" onClick={onBack}>{t(lang, "back")}</button>
      <h2>{enterprise?.data.name}</h2>
      <p class="progress" data-testid="progress">{t(lang, "progress")} {done.answered}/{done.total}</p>
      {groupItems(items).map((group) => (
        <div class="group" key={`${group.section}-${group.sector}`}>
          <h3>{group.section === "key" ? `${t(lang, "keyItems")} · ${sectorLabel(lang, group.sector)}` : t(lang, "managementItems")}</h3>
          {group.items.map((item) => {
            const current = answers[item.code];
            return (
              <article class="item" key={item.code} data-code={item.code}>
                <p><strong>{item.code}</strong> {item.text}</p>
                <div class="choices" role="group">
                  {RESULTS.map((result) => (
                    <button key={result} class={current?.result === result ? `choice chosen ${result}` : `choice ${result}`}
                      aria-pressed={current?.result === result} disabled={sealed}
                      onClick={() => answer(item, { result })}>{t(lang, `result.${result}`)}</button>
                  ))}
                </div>
                <textarea placeholder={t(lang, "note")} disabled={sealed || !current} defaultValue={current?.note ?? ""}
                  onBlur={(e) => current && e.currentTarget.value !== (current.note ?? "") && answer(item, { note: e.currentTarget.value })} />
                {current && (
                  <PhotoEvidence lang={lang} db={db} entityType="item_result" entityId={current.id}
                    photos={photos[current.id] ?? []} fix={fix} enterprise={enterprise} disabled={sealed}
                    onSaved={() => { load(); onChanged(); }} />
                )}
                {current?.result === "non_compliant" && !sealed && (
                  <HazardForm lang={lang} db={db} inspection={inspection} item={item} enterpriseId={enterprise.id}
                    existing={hazards[item.code]} fiveTerms={catalogue?.data.five_terms}
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
      {!sealed && done.complete && missingHazards.length === 0 && (
        <section class="signatures">
          <h3>{t(lang, "signatures")}</h3>
          {inspectors.map((p) => (
            <SignaturePad key={p.name} lang={lang} label={`${t(lang, "inspector")} ${p.name}`} testId={`sign-inspector-${p.name}`}
              signed={signedBy("inspector", p.name)} onSigned={(png) => sign("inspector", p.name, png)} />
          ))}
          <label>{t(lang, "enterpriseRep")}<input name="rep" value={repName} onInput={(e) => setRepName(e.currentTarget.value)} disabled={repSigned} /></label>
          <SignaturePad lang={lang} label={`${t(lang, "enterpriseRep")} ${repName}`} testId="sign-enterprise-rep"
            signed={repSigned} disabled={!repName.trim()} onSigned={(png) => sign("enterprise_rep", repName.trim(), png)} />
        </section>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {!sealed && (
        <button class="submit" disabled={!done.complete || missingHazards.length > 0 || !allSigned} onClick={submit}>
          {t(lang, "submit")} ({done.answered}/{done.total})
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
export function MyInspections({ lang, inspections, enterprises, onOpen }) {
  if (!inspections.length) return null;
  const nameOf = (id) => enterprises.find((e) => e.id === id)?.data?.name ?? id;
  return (
    <section class="card">
      <h2>{t(lang, "myInspections")}</h2>
      <ul class="enterprises">
        {inspections.map((i) => (
          <li key={i.id} data-inspection-id={i.id} onClick={() => onOpen(i.id)}>
            <div class="name">{nameOf(i.data.enterprise_id)}</div>
            <div class="meta">{t(lang, `status.${i.data.status ?? "draft"}`)} · {new Date(i.data.started_at).toLocaleString(lang === "en" ? "en" : "zh-CN")}</div>
            {i.data.status === "returned" && i.decision?.comment && (
              <div class="returned" data-testid="returned-comment">{t(lang, "returnedWith")}{i.decision.comment}</div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
