// The expert's opinion on the tablet, offline (notice 三（七）): the expert taking part writes the opinion and the
// list of problems with rectification suggestions, each linked to a checklist item or a hazard of this inspection,
// and signs. Saved like every record (IndexedDB + outbox); sealed with the inspection at submission.
import { useEffect, useState } from "preact/hooks";
import { putBlob, recordList, saveRecord, sha256Hex } from "../db/store.js";
import { expertsOf, normalLine, opinionProblems } from "../domain/expertOpinion.js";
import { SignaturePad } from "./signature.jsx";

const MESSAGES = {
  zh: {
    title: "专家检查意见", addExpert: "添加参加检查的专家", add: "添加", expert: "专家", opinion: "检查意见",
    lines: "问题隐患和整改建议清单", problem: "问题", suggestion: "整改建议", item: "对应检查项", hazard: "对应隐患",
    none: "（无）", addLine: "增加一条", removeLine: "删除", sign: "专家签名", save: "保存专家意见", saved: "已保存",
    "expert.name": "请选择专家", "expert.opinion": "请填写检查意见", "expert.lineText": "每条须填写问题和整改建议",
    "expert.lineLink": "每条须对应本次检查的检查项或隐患", "expert.signature": "请专家签名",
  },
  en: {
    title: "Expert opinion", addExpert: "Add an expert taking part", add: "Add", expert: "Expert", opinion: "Opinion",
    lines: "Problems and rectification suggestions", problem: "Problem", suggestion: "Suggestion", item: "Checklist item",
    hazard: "Hazard", none: "(none)", addLine: "Add a line", removeLine: "Remove", sign: "Expert's signature",
    save: "Save the opinion", saved: "Saved", "expert.name": "Choose the expert", "expert.opinion": "Write the opinion",
    "expert.lineText": "Every line needs a problem and a suggestion",
    "expert.lineLink": "Every line must point to an item or a hazard of this inspection", "expert.signature": "The expert must sign",
  },
};
const m = (lang, key) => (MESSAGES[lang] ?? MESSAGES.zh)[key] ?? key;
const blankLine = () => ({ item_code: "", hazard_id: "", problem: "", suggestion: "" });

/** The opinions of one inspection and the form for a new one (read-only once the inspection is sealed). */
export function ExpertOpinionPanel({ lang, db, inspection, items, hazards, disabled, onChanged }) {
  const [opinions, setOpinions] = useState([]);
  const [expertName, setExpertName] = useState("");
  const [newExpert, setNewExpert] = useState("");
  const [opinion, setOpinion] = useState("");
  const [lines, setLines] = useState([blankLine()]);
  const [signature, setSignature] = useState(null);
  const [problems, setProblems] = useState([]);
  const experts = expertsOf(inspection);
  const load = async () => setOpinions((await recordList(db, "expert_opinion")).filter((o) => o.data.inspection_id === inspection.id));
  useEffect(() => { load(); }, [inspection.id]);

  const addExpert = async () => {
    const name = newExpert.trim();
    if (!name) return;
    const participants = [...(inspection.data.participants ?? []), { role: "expert", name }];
    await saveRecord(db, "inspection", inspection.id, { participants });
    setExpertName(name);
    setNewExpert("");
    onChanged();
  };
  const sign = async (png) => {
    const sha256 = await sha256Hex(png);
    await putBlob(db, { sha256, bytes: png, mime: "image/png" });
    setSignature({ sha256, at: new Date().toISOString() });
  };
  const setLine = (index, key, value) => setLines(lines.map((line, i) => (i === index ? { ...line, [key]: value } : line)));
  const save = async () => {
    const expert = experts.find((p) => p.name === expertName);
    const data = {
      inspection_id: inspection.id, expert_name: expertName, expert_user_id: expert?.user_id ?? null, opinion: opinion.trim(),
      items: lines.filter((l) => l.problem.trim() || l.suggestion.trim()).map(normalLine), signature,
      signed_at: signature?.at ?? null,
    };
    const found = opinionProblems(data, { findings: { items: items.map((i) => i.code), hazards: hazards.map((h) => h.id) } });
    setProblems(found);
    if (found.length) return;
    await saveRecord(db, "expert_opinion", crypto.randomUUID(), data);
    setOpinion("");
    setLines([blankLine()]);
    setSignature(null);
    await load();
    onChanged();
  };

  return (
    <section class="expert-opinions" data-testid="expert-opinions">
      <h3>{m(lang, "title")}</h3>
      {opinions.map((o) => (
        <article class="opinion" key={o.id} data-opinion-id={o.id}>
          <p><strong>{o.data.expert_name}</strong>：{o.data.opinion}</p>
          <ol>{(o.data.items ?? []).map((line, i) => <li key={i}>{line.problem} → {line.suggestion}</li>)}</ol>
        </article>
      ))}
      {!disabled && (
        <div class="opinion-form">
          {experts.length > 0 && <label>{m(lang, "expert")}
            <select value={expertName} onChange={(e) => setExpertName(e.currentTarget.value)} data-testid="expert-name">
              <option value="">{m(lang, "none")}</option>
              {experts.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
            </select></label>}
          <label>{m(lang, "addExpert")}<input value={newExpert} onInput={(e) => setNewExpert(e.currentTarget.value)} data-testid="new-expert" /></label>
          <button class="secondary" onClick={addExpert} disabled={!newExpert.trim()}>{m(lang, "add")}</button>
          <label>{m(lang, "opinion")}<textarea value={opinion} onInput={(e) => setOpinion(e.currentTarget.value)} data-testid="expert-opinion-text" /></label>
          <h4>{m(lang, "lines")}</h4>
          {lines.map((line, index) => (
            <div class="opinion-line" key={index} data-testid={`expert-line-${index}`}>
              <label>{m(lang, "item")}<select value={line.item_code} onChange={(e) => setLine(index, "item_code", e.currentTarget.value)}>
                <option value="">{m(lang, "none")}</option>
                {items.map((i) => <option key={i.code} value={i.code}>{i.code}</option>)}
              </select></label>
              <label>{m(lang, "hazard")}<select value={line.hazard_id} onChange={(e) => setLine(index, "hazard_id", e.currentTarget.value)}>
                <option value="">{m(lang, "none")}</option>
                {hazards.map((h) => <option key={h.id} value={h.id}>{h.data.description}</option>)}
              </select></label>
              <label>{m(lang, "problem")}<input value={line.problem} onInput={(e) => setLine(index, "problem", e.currentTarget.value)} /></label>
              <label>{m(lang, "suggestion")}<input value={line.suggestion} onInput={(e) => setLine(index, "suggestion", e.currentTarget.value)} /></label>
              {lines.length > 1 && <button class="secondary" onClick={() => setLines(lines.filter((_, i) => i !== index))}>{m(lang, "removeLine")}</button>}
            </div>
          ))}
          <button class="secondary" onClick={() => setLines([...lines, blankLine()])}>{m(lang, "addLine")}</button>
          <SignaturePad lang={lang} label={`${m(lang, "sign")} ${expertName}`} testId="sign-expert" signed={Boolean(signature)}
            disabled={!expertName} onSigned={sign} />
          {problems.length > 0 && <p class="error" role="alert">{problems.map((p) => m(lang, p)).join("；")}</p>}
          <button onClick={save} data-testid="save-expert-opinion">{m(lang, "save")}</button>
        </div>
      )}
    </section>
  );
}
