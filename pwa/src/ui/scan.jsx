// The scan screen: the camera (rear if the device has one), frames decoded in a worker (each frame as it is
// and as variants, within a time budget), the code checked offline. Loaded only when opened, so the decoder
// never weighs on the app's start. The manual search stays at the top, in view whatever the screen shows.
import { useEffect, useRef, useState } from "preact/hooks";
import { getMeta } from "../db/store.js";
import { canvasBlob } from "../photo/encode.js";
import { resolveScan } from "../scan/qr.js";
import { openCamera } from "./camera.js";
import { frameCanvas } from "./canvas.js";
import { t } from "./i18n.js";

/** Time each frame may spend on variants after the plain pass (ms). */
const FRAME_BUDGET_MS = 300;
/** After this long without reading any code, say what to try. */
const TIPS_AFTER_MS = 3000;
/** Frames are asked at this size (tablets' rear cameras give it); small codes need the pixels. */
const IDEAL_FRAME = { width: { ideal: 1280 }, height: { ideal: 960 } };

let sharedWorker = null;
/** Frame numbers across openings of the screen, so a late reply for an earlier opening is told apart. */
let frameIds = 0;

/** The decoding worker, started once and kept: its WebAssembly compiled before the first scan, not during it. */
function decoderWorker() {
  sharedWorker ??= new Worker(new URL("../scan/worker.js", import.meta.url), { type: "module" });
  return sharedWorker;
}

/** Start the decoder ahead of the first scan and run it idle a few times (WebAssembly runs several times faster
 * once the engine has optimised it); the app calls this a moment after showing its home screen. */
export function warmDecoder() {
  decoderWorker().postMessage({ warm: true });
}

/** A small picture of the video's current frame, as an object URL (what was scanned, shown with a refusal). */
async function snapshot(video) {
  const width = 240;
  const height = Math.max(1, Math.round((video.videoHeight / Math.max(1, video.videoWidth)) * width));
  const canvas = frameCanvas(width, height);
  canvas.getContext("2d").drawImage(video, 0, 0, width, height);
  return URL.createObjectURL(await canvasBlob(canvas, "image/jpeg", 0.8));
}

/** Scan an enterprise's QR code; `onFound(enterpriseId)` for a genuine current code. */
export function ScanPage({ lang, db, enterprises, onFound, onBack }) {
  const video = useRef(null);
  const [message, setMessage] = useState(t(lang, "scanHint"));
  const [refusal, setRefusal] = useState(null);
  const [tips, setTips] = useState(false);
  const [torch, setTorch] = useState(null);
  useEffect(() => {
    let stream = null;
    let stopped = false;
    let timer = null;
    let tipsTimer = null;
    let read = false;
    let shownUrl = null;
    let refused = null;
    const worker = decoderWorker();
    let canvas = null;
    let busy = false;
    let pending = -1;
    // What a code is checked against, read once while the camera starts rather than after a read.
    const checking = Promise.all([getMeta(db, "qrPublicKey"), getMeta(db, "device")])
      .then(([jwk, device]) => ({ jwk, region: device?.user?.region ?? null }));
    let start = 1;
    // A decoder that cannot start (no WebAssembly, a blocked script) must say so, not scan forever.
    worker.onerror = () => setMessage(t(lang, "decoderFailed"));
    worker.onmessage = async ({ data }) => {
      if (data.id !== pending) return; // a frame of an earlier opening of the screen
      busy = false;
      start = data.next ?? start;
      if (!data.text || stopped || data.text === refused) return;
      read = true;
      setTips(false);
      const { jwk, region } = await checking;
      const outcome = await resolveScan(data.text, { jwk, enterprises, region });
      if (stopped) return;
      if (outcome.enterprise && !outcome.reason) {
        stopped = true;
        onFound(outcome.enterprise.id);
        return;
      }
      refused = data.text; // the same code, still in view, is not re-checked frame after frame
      const picture = video.current ? await snapshot(video.current).catch(() => null) : null;
      if (shownUrl) URL.revokeObjectURL(shownUrl);
      shownUrl = picture;
      setRefusal({ ...outcome, text: data.text, picture });
    };
    const tick = () => {
      if (stopped) return;
      const v = video.current;
      if (v && v.readyState >= 2 && !busy && v.videoWidth > 0) {
        if (!canvas || canvas.width !== v.videoWidth || canvas.height !== v.videoHeight) canvas = frameCanvas(v.videoWidth, v.videoHeight);
        const pen = canvas.getContext("2d", { willReadFrequently: true });
        pen.drawImage(v, 0, 0);
        const imageData = pen.getImageData(0, 0, canvas.width, canvas.height);
        busy = true;
        pending = ++frameIds;
        worker.postMessage({ id: pending, imageData, budgetMs: FRAME_BUDGET_MS, start }, [imageData.data.buffer]);
      }
      // Until the first frame arrives, look often: the first frame is the one most often read.
      timer = setTimeout(tick, busy ? 40 : canvas ? 100 : 15);
    };
    openCamera(IDEAL_FRAME)
      .then((s) => {
        stream = s;
        if (stopped) {
          s.getTracks().forEach((track) => track.stop());
          return;
        }
        video.current.srcObject = s;
        video.current.play().catch(() => {});
        const track = s.getVideoTracks()[0];
        // `torch` is an extension of the image-capture spec, not in TypeScript's DOM lib.
        const capabilities = /** @type {(MediaTrackCapabilities & {torch?: boolean}) | undefined} */ (track?.getCapabilities?.());
        if (capabilities?.torch) setTorch({ track, on: false });
        tipsTimer = setTimeout(() => { if (!read && !stopped) setTips(true); }, TIPS_AFTER_MS);
        tick();
      })
      .catch(() => setMessage(t(lang, "noCamera")));
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(tipsTimer);
      worker.onmessage = null;
      worker.onerror = null;
      if (shownUrl) URL.revokeObjectURL(shownUrl);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);
  const toggleTorch = async () => {
    await torch.track.applyConstraints({ advanced: [{ torch: !torch.on }] });
    setTorch({ ...torch, on: !torch.on });
  };
  const known = refusal?.enterprise?.data?.name;
  return (
    <section class="card scan-page">
      <div class="scan-actions">
        <button class="secondary" onClick={onBack}>{t(lang, "back")}</button>
        <button class="manual-search" data-testid="manual-search" onClick={onBack}>{t(lang, "manualSearch")}</button>
        {torch && <button class="secondary" data-testid="torch" onClick={toggleTorch}>{t(lang, torch.on ? "torchOff" : "torchOn")}</button>}
      </div>
      <h2>{t(lang, "scan")}</h2>
      <video ref={video} class="camera scan-camera" playsInline muted />
      <p>{message}</p>
      {tips && !refusal && <p class="hint" role="status" data-testid="scan-tips">{t(lang, "scanTips")}</p>}
      {refusal && (
        <div class="error scan-refusal" role="alert" data-testid="scan-refusal">
          <p>{t(lang, `scan.${refusal.reason}`).replace("{division}", refusal.division ?? "")}</p>
          <p data-testid="scanned-what">
            {refusal.creditCode ? `${t(lang, "scannedCode")}${refusal.creditCode}` : String(refusal.text).slice(0, 80)}
            {known ? ` · ${t(lang, "scannedEnterprise")}${known}` : ""}
          </p>
          {refusal.picture && <img class="scanned-frame" src={refusal.picture} alt={t(lang, "scannedFrame")} />}
        </div>
      )}
    </section>
  );
}
