// The inspector's app shell: sign-in once, then the region's enterprises and the sync panel, offline.
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { openDatabase } from "../db/schema.js";
import { getMeta, recordList, replicaList, setMeta, storageSummary } from "../db/store.js";
import { askPersistentStorage } from "../db/persistence.js";
import { assignmentTasks } from "../domain/assignments.js";
import { currentCatalogue } from "../domain/checklist.js";
import { bureauZone, formatDateTime, formatDay, isOverdue, todayIn } from "../domain/clock.js";
import { createApi, NetworkError } from "../sync/api.js";
import { createRunner } from "../sync/runner.js";
import { createScheduler } from "../sync/scheduler.js";
import { registerThisDevice } from "./device.js";
import { problemText, sectorLabel, t, tf } from "./i18n.js";
import { localValidation } from "./validation.js";
import { lazy, Suspense } from "preact/compat";
import { EnterprisePage, InspectionPage, MyInspections } from "./inspection.jsx";

// The decoder (and its wasm) loads only when the scan screen opens.
const ScanPage = lazy(() => import("./scan.jsx").then((m) => ({ default: m.ScanPage })));
import { watchForUpdates } from "./updates.js";
import "./styles.css";

function Login({ lang, onDone, db, api }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError("");
    try {
      await registerThisDevice({
        db, api, username: String(form.get("username")), password: String(form.get("password")),
        label: navigator.userAgent.slice(0, 90),
      });
      onDone();
    } catch (problem) {
      // No network is not a wrong password: say what a first sign-in needs, never "Failed to fetch".
      const offline = problem instanceof NetworkError || !navigator.onLine;
      const firstTime = !(await getMeta(db, "device", null))?.token;
      setError(offline ? t(lang, firstTime ? "firstSignInNeedsNetwork" : "signInNetworkLost") : problemText(lang, problem));
      setBusy(false);
    }
  };
  return (
    <form class="login card" onSubmit={submit} {...localValidation(lang)}>
      <h2>{t(lang, "signIn")}</h2>
      <p>{t(lang, "firstUseHint")}</p>
      <label>{t(lang, "username")}<input name="username" autocomplete="username" required /></label>
      <label>{t(lang, "password")}<input name="password" type="password" autocomplete="current-password" required /></label>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" disabled={busy}>{busy ? t(lang, "signingIn") : t(lang, "signIn")}</button>
    </form>
  );
}

const OPEN_STATES = new Set(["found", "planned", "reported", "rejected"]);

/** Per enterprise: open hazards with the nearest deadline, and the latest inspection this device knows. */
function enterpriseFacts(hazards, inspections, today) {
  const facts = new Map();
  const of = (id) => facts.get(id) ?? facts.set(id, { open: 0, deadline: null, overdue: false, lastInspection: null }).get(id);
  for (const h of hazards) {
    if (h.deleted || !h.data || !OPEN_STATES.has(h.data.state)) continue;
    const f = of(h.data.enterprise_id);
    f.open += 1;
    if (h.data.deadline && (!f.deadline || h.data.deadline < f.deadline)) f.deadline = h.data.deadline;
    if (isOverdue(h.data, today)) f.overdue = true;
  }
  for (const i of inspections) {
    const f = of(i.data.enterprise_id);
    if (!f.lastInspection || String(i.data.started_at) > String(f.lastInspection)) f.lastInspection = i.data.started_at;
  }
  return facts;
}

function EnterpriseList({ lang, enterprises, facts, zone, onOpen }) {
  const [query, setQuery] = useState("");
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const rows = enterprises.filter((e) => !e.deleted && e.data);
    const hits = q
      ? rows.filter((e) => [e.data.name, e.data.credit_code, e.data.address, e.data.region_name]
          .some((v) => String(v || "").toLowerCase().includes(q)))
      : rows;
    return hits.sort((a, b) => String(a.data.name).localeCompare(String(b.data.name), "zh-CN"));
  }, [enterprises, query]);
  return (
    <section class="card">
      <h2>{t(lang, "enterprises")} <small>({shown.length})</small></h2>
      <input type="search" placeholder={t(lang, "search")} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      {shown.length === 0 ? <p>{t(lang, "noEnterprises")}</p> : (
        <ul class="enterprises">
          {shown.map((e) => (
            <li key={e.id} data-enterprise-id={e.id} onClick={() => onOpen(e.id)}>
              <div class="name">{e.data.name}</div>
              <div class="meta">{e.data.credit_code} · {e.data.region_name}</div>
              <div class="meta">{(e.data.sectors || []).map((s) => <span class="tag" key={s}>{sectorLabel(lang, s)}</span>)}</div>
              {facts?.get(e.id)?.open > 0 && (
                <div class={facts.get(e.id).overdue ? "meta hazards overdue" : "meta hazards"} data-testid="open-hazards">
                  {t(lang, "openHazards")} {facts.get(e.id).open} · {t(lang, "nearestDeadline")} {formatDay(facts.get(e.id).deadline, lang, zone)}
                  {facts.get(e.id).overdue && ` · ${t(lang, "overdue")}`}
                </div>
              )}
              {facts?.get(e.id)?.lastInspection && (
                <div class="meta">{t(lang, "lastInspection")} {formatDay(facts.get(e.id).lastInspection, lang, zone)}</div>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** 抽查任务: the enterprises the city drew for this inspector (双随机), each opening its card when on this tablet. */
function AssignmentList({ lang, tasks, zone, onOpen }) {
  if (tasks.length === 0) return null;
  return (
    <section class="card assignments" data-testid="assignments">
      <h2>{t(lang, "assignments")} <small>({tasks.length})</small></h2>
      <ul class="enterprises">
        {tasks.map((task) => (
          <li key={task.enterpriseId} data-enterprise-id={task.enterpriseId}
            onClick={() => task.inReplica && onOpen(task.enterpriseId)}>
            <div class="name">{task.name}{task.done && <span class="tag">{t(lang, "assignmentStarted")}</span>}</div>
            <div class="meta">{task.regionName} · {t(lang, "assignmentDrawn")} {formatDay(task.drawnAt, lang, zone)}</div>
            {task.coInspectors.length > 0 && <div class="meta">{t(lang, "assignmentWith")} {task.coInspectors.join("、")}</div>}
            {!task.inReplica && <div class="meta">{t(lang, "assignmentNotOnTablet")}</div>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function formatMb(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What waits to be sent, always in view (the header bar is sticky). */
function SyncBadge({ lang, summary, syncing }) {
  const waiting = (summary.pendingMutations ?? 0) + (summary.pendingBlobs ?? 0);
  return (
    <span class={waiting ? "sync-badge pending" : "sync-badge"} data-testid="sync-badge">
      {syncing ? "⟳ " : ""}{waiting
        ? tf(lang, "syncBadgePending", { n: summary.pendingMutations ?? 0, p: summary.pendingBlobs ?? 0 })
        : t(lang, "syncBadgeDone")}
    </span>
  );
}

function SyncPanel({ lang, summary, storage, online, syncing, quarantined, zone, onSync, onDismiss }) {
  return (
    <section class="card sync-panel" aria-live="polite">
      <h2>{t(lang, "syncPanel")}</h2>
      <dl class="sync">
        <dt>{t(lang, "unsentChanges")}</dt><dd data-testid="unsent-changes">{summary.pendingMutations ?? 0}</dd>
        <dt>{t(lang, "unsentPhotos")}</dt><dd data-testid="unsent-photos">{summary.pendingBlobs ?? 0} · {formatMb(summary.pendingBlobBytes ?? 0)}</dd>
        <dt>{t(lang, "lastSync")}</dt><dd data-testid="last-sync">{summary.lastSync ? formatDateTime(summary.lastSync, lang, zone) : t(lang, "never")}</dd>
        <dt>{t(lang, "storage")}</dt>
        <dd>{storage ? `${formatMb(storage.usage)} / ${formatMb(storage.quota)} · ${t(lang, storage.persisted ? "persisted" : "notPersisted")}` : "—"}</dd>
        {storage && !storage.persisted && (summary.pendingMutations || summary.pendingBlobs) ? (
          // Safari (and any browser that did not grant persistence) may evict site data under storage pressure.
          <><dt>{t(lang, "evictionRisk")}</dt><dd class="warn" data-testid="eviction-warning">{t(lang, "evictionAdvice")}</dd></>
        ) : null}
        {summary.lastError && (<><dt>{t(lang, "lastError")}</dt><dd class="error" data-testid="last-error">{problemText(lang, summary.lastError)}</dd></>)}
      </dl>
      {quarantined.length > 0 && (
        <div class="quarantined" data-testid="quarantined">
          <h3>{t(lang, "quarantined")} ({quarantined.length})</h3>
          <ul>
            {quarantined.map((q) => (
              <li key={`${q.seq}-${q.at}`} data-code={q.code}>
                <div class="name">{problemText(lang, { messages: q.record })} · {q.code}</div>
                <div><strong>{t(lang, "quarantineWhy")}：</strong>{problemText(lang, { messages: q.messages })}{q.detail ? `（${q.detail}）` : ""}</div>
                <div><strong>{t(lang, "quarantineTodo")}：</strong>{problemText(lang, { messages: q.todo })}</div>
                <button class="secondary" onClick={() => onDismiss(q)}>{t(lang, "dismiss")}</button>
              </li>
            ))}
          </ul>
        </div>
      )}
      <button onClick={onSync} disabled={syncing || !online}>{syncing ? t(lang, "syncing") : t(lang, "syncNow")}</button>
      {!online && <p class="hint" data-testid="offline-why">{t(lang, "offlineWhy")}</p>}
    </section>
  );
}

function App({ db, api, runner, progress }) {
  const [lang, setLang] = useState("zh");
  const [device, setDevice] = useState(undefined);
  const [enterprises, setEnterprises] = useState([]);
  const [catalogues, setCatalogues] = useState([]);
  const [hazards, setHazards] = useState([]);
  const [replicaInspections, setReplicaInspections] = useState([]);
  const [inspections, setInspections] = useState([]);
  const [assignments, setAssignments] = useState([]);
  const [view, setView] = useState(/** @type {{name: string, id?: string}} */ ({ name: "home" }));
  const [summary, setSummary] = useState(/** @type {Partial<import("../db/store.js").StorageSummary>} */ ({}));
  const [storage, setStorage] = useState(null);
  const [online, setOnline] = useState(navigator.onLine);
  const [syncing, setSyncing] = useState(false);
  const [update, setUpdate] = useState(null);
  const [quarantined, setQuarantined] = useState([]);
  const [colleagues, setColleagues] = useState([]);

  const refresh = useCallback(async () => {
    setDevice((await getMeta(db, "device")) ?? null);
    setLang((await getMeta(db, "lang")) || "zh");
    setEnterprises(await replicaList(db, "enterprise"));
    setCatalogues(await replicaList(db, "catalogue"));
    setHazards(await replicaList(db, "hazard"));
    setAssignments(await replicaList(db, "assignment"));
    setColleagues(await replicaList(db, "colleague"));
    setQuarantined(await getMeta(db, "quarantined", []));
    // The local record is what the inspector wrote; its review status and any supervisor's comment come
    // back through pull (the replica), so both are merged for the list.
    const server = new Map((await replicaList(db, "inspection")).map((r) => [r.id, r]));
    const decisions = (await replicaList(db, "review_decision")).sort((a, b) => String(b.data.decided_at).localeCompare(String(a.data.decided_at)));
    const mine = (await recordList(db, "inspection")).map((record) => {
      const status = server.get(record.id)?.data?.status ?? record.data.status ?? "draft";
      const decision = decisions.find((d) => d.data.inspection_id === record.id);
      return { ...record, data: { ...record.data, status }, decision: decision?.data ?? null };
    });
    setInspections(mine.sort((a, b) => String(b.data.started_at).localeCompare(String(a.data.started_at))));
    setReplicaInspections([...server.values()].filter((r) => !r.deleted && r.data));
    setSummary(await storageSummary(db));
    if (navigator.storage?.estimate) {
      const { usage = 0, quota = 0 } = await navigator.storage.estimate();
      const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
      setStorage({ usage, quota, persisted });
    }
  }, [db]);

  // One scheduler per page: every request (a save, `online`, the button) coalesces into at most one more round,
  // and while changes wait online it retries on a backoff schedule (no Background Sync needed: Safari, Firefox).
  const scheduler = useMemo(() => createScheduler(runner, {
    onStart: () => setSyncing(true),
    onResult: () => { setSyncing(false); refresh(); },
    onError: () => { setSyncing(false); refresh(); },
  }), [runner, refresh]);
  const sync = useCallback(() => (navigator.onLine ? scheduler.kick() : undefined), [scheduler]);
  // The counts fall as batches are acknowledged and photos sent, not all at once at the end.
  useEffect(() => {
    const update = async () => setSummary(await storageSummary(db));
    progress.addEventListener("progress", update);
    return () => progress.removeEventListener("progress", update);
  }, [db, progress]);
  useEffect(() => () => scheduler.stop(), [scheduler]);

  useEffect(() => {
    refresh();
    const goOnline = () => { setOnline(true); sync(); };
    const goOffline = () => setOnline(false);
    const visible = () => { if (document.visibilityState === "visible") sync(); };
    window.addEventListener("online", goOnline);
    window.addEventListener("offline", goOffline);
    document.addEventListener("visibilitychange", visible);
    watchForUpdates(setUpdate);
    return () => {
      window.removeEventListener("online", goOnline);
      window.removeEventListener("offline", goOffline);
      document.removeEventListener("visibilitychange", visible);
    };
  }, [refresh, sync]);

  useEffect(() => { if (device?.token) scheduler.start(); }, [device?.id, scheduler]);
  useEffect(() => {
    if (!device?.token) return undefined;
    // The scanner's decoder starts while the inspector reads the list, not after pressing scan.
    const timer = setTimeout(() => import("./scan.jsx").then((m) => m.warmDecoder()).catch(() => {}), 1000);
    return () => clearTimeout(timer);
  }, [device?.id]);

  const toggleLang = async () => {
    const next = lang === "zh" ? "en" : "zh";
    await setMeta(db, "lang", next);
    setLang(next);
  };

  const signedIn = async () => {
    // Asked, never awaited: Firefox answers only through a permission prompt, which may never come.
    askPersistentStorage(navigator.storage).then((granted) => granted && refresh());
    await refresh();
    await scheduler.start(); // the first pull; after a re-login it also clears the error that asked for it
  };

  const changed = async () => {
    await refresh();
    if (navigator.onLine) sync();
    // Also ask for a background sync: it fires when the network is back, even if the app was closed.
    // Background Sync is not in TypeScript's DOM lib (Chromium only): its one method, typed here.
    /** @type {(ServiceWorkerRegistration & {sync?: {register: (tag: string) => Promise<void>}}) | undefined} */
    const registration = await navigator.serviceWorker?.getRegistration("/app/");
    await registration?.sync?.register("outbox").catch(() => {});
  };
  const home = () => setView({ name: "home" });
  const catalogue = currentCatalogue(catalogues);
  const zone = bureauZone(catalogue);
  const dismiss = async (notice) => {
    const left = (await getMeta(db, "quarantined", [])).filter((q) => !(q.seq === notice.seq && q.at === notice.at));
    await setMeta(db, "quarantined", left);
    setQuarantined(left);
  };

  function renderView() {
    if (view.name === "enterprise") {
      const enterprise = enterprises.find((e) => e.id === view.id);
      if (!enterprise) return null;
      return (
        <EnterprisePage lang={lang} db={db} enterprise={enterprise} catalogue={catalogue} me={device.user} colleagues={colleagues}
          onBack={home} onStart={async (id) => { await refresh(); setView({ name: "inspection", id }); }} />
      );
    }
    if (view.name === "inspection") {
      const inspection = inspections.find((i) => i.id === view.id);
      if (!inspection) return null;
      return (
        <InspectionPage lang={lang} db={db} inspection={inspection}
          enterprise={enterprises.find((e) => e.id === inspection.data.enterprise_id)}
          catalogue={catalogues.find((c) => c.id === inspection.data.catalogue_id)}
          syncBadge={<SyncBadge lang={lang} summary={summary} syncing={syncing} />}
          onChanged={changed} onBack={async () => { await refresh(); home(); }} />
      );
    }
    if (view.name === "scan") {
      return (
        <Suspense fallback={<p>…</p>}>
          <ScanPage lang={lang} db={db} enterprises={enterprises} onBack={home}
            onFound={(id) => setView({ name: "enterprise", id })} />
        </Suspense>
      );
    }
    return (
      <>
        <AssignmentList lang={lang} zone={zone} tasks={assignmentTasks({ assignments, enterprises, inspections })}
          onOpen={(id) => setView({ name: "enterprise", id })} />
        <button class="scan-button" onClick={() => setView({ name: "scan" })}>📷 {t(lang, "scan")}</button>
        <MyInspections lang={lang} zone={zone} inspections={inspections} enterprises={enterprises}
          onOpen={(id) => setView({ name: "inspection", id })} />
        <EnterpriseList lang={lang} zone={zone} enterprises={enterprises}
          facts={enterpriseFacts(hazards, [...inspections, ...replicaInspections], todayIn(zone))}
          onOpen={(id) => setView({ name: "enterprise", id })} />
      </>
    );
  }

  return (
    <>
      <header class="bar">
        <h1>{t(lang, "appTitle")}{device?.user ? ` · ${device.user.display_name}` : ""}</h1>
        {device?.token && <SyncBadge lang={lang} summary={summary} syncing={syncing} />}
        <span class={online ? "net" : "net off"} data-testid="network">{t(lang, online ? "online" : "offline")}</span>
        <button onClick={toggleLang}>{t(lang, "language")}</button>
      </header>
      {update && (
        <div class="banner" role="status">
          <span>{t(lang, "updateReady")}</span>
          <button onClick={() => update.apply()}>{t(lang, "updateNow")}</button>
          <button class="secondary" onClick={() => setUpdate(null)}>{t(lang, "later")}</button>
        </div>
      )}
      {device === undefined ? null : !device?.token || summary.lastError?.reauth ? (
        <Login lang={lang} db={db} api={api} onDone={signedIn} />
      ) : (
        <main>
          <div>{renderView()}</div>
          <SyncPanel lang={lang} summary={summary} storage={storage} online={online} syncing={syncing} zone={zone}
            quarantined={quarantined} onSync={sync} onDismiss={dismiss} />
        </main>
      )}
    </>
  );
}

/** Open the database, build the sync runner and mount the app on `root` (the page's #app by default). */
export async function start(root = document.getElementById("app")) {
  const db = await openDatabase();
  const api = createApi({ baseUrl: "" });
  const progress = new EventTarget();
  const runner = createRunner({ db, api, locks: navigator.locks, onProgress: () => progress.dispatchEvent(new Event("progress")) });
  render(<App db={db} api={api} runner={runner} progress={progress} />, root);
}
