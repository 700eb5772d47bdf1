// The scan screen: the camera (rear if the device has one), frames decoded in a worker, the code checked
// offline. Loaded only when opened, so the decoder never weighs on the app's start.
import { useEffect, useRef, useState } from "preact/hooks";
import { getMeta } from "../db/store.js";
import { resolveScan } from "../scan/qr.js";
import { openCamera } from "./camera.js";
import { t } from "./i18n.js";

/** Scan an enterprise's QR code; `onFound(enterpriseId)` for a genuine current code. */
export function ScanPage({ lang, db, enterprises, onFound, onBack }) {
  const video = useRef(null);
  const [message, setMessage] = useState(t(lang, "scanHint"));
  const [refusal, setRefusal] = useState(null);
  const [torch, setTorch] = useState(null);
  useEffect(() => {
    let stream = null;
    let stopped = false;
    let timer = null;
    const worker = new Worker(new URL("../scan/worker.js", import.meta.url), { type: "module" });
    const canvas = new OffscreenCanvas(640, 480);
    let busy = false;
    let nextId = 0;
    worker.onmessage = async ({ data }) => {
      busy = false;
      if (!data.text || stopped) return;
      const jwk = await getMeta(db, "qrPublicKey");
      const outcome = await resolveScan(data.text, { jwk, enterprises });
      if (outcome.enterprise && !outcome.reason) {
        stopped = true;
        onFound(outcome.enterprise.id);
      } else {
        setRefusal(outcome.reason);
      }
    };
    const tick = () => {
      if (stopped) return;
      const v = video.current;
      if (v && v.readyState >= 2 && !busy) {
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        const pen = canvas.getContext("2d", { willReadFrequently: true });
        pen.drawImage(v, 0, 0);
        busy = true;
        worker.postMessage({ id: ++nextId, imageData: pen.getImageData(0, 0, canvas.width, canvas.height) });
      }
      timer = setTimeout(tick, 150);
    };
    openCamera()
      .then((s) => {
        stream = s;
        if (stopped) return;
        video.current.srcObject = s;
        video.current.play();
        const track = s.getVideoTracks()[0];
        if (track?.getCapabilities?.().torch) setTorch({ track, on: false });
        tick();
      })
      .catch(() => setMessage(t(lang, "noCamera")));
    return () => {
      stopped = true;
      clearTimeout(timer);
      worker.terminate();
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);
  const toggleTorch = async () => {
    await torch.track.applyConstraints({ advanced: [{ torch: !torch.on }] });
    setTorch({ ...torch, on: !torch.on });
  };
  return (
    <section class="card scan-page">
      <button class="secondary" onClick={onBack}>{t(lang, "back")}</button>
      <h2>{t(lang, "scan")}</h2>
      <video ref={video} class="camera" playsInline muted />
      <p>{message}</p>
      {refusal && <p class="error" role="alert" data-testid="scan-refusal">{t(lang, `scan.${refusal}`)}</p>}
      {torch && <button class="secondary" onClick={toggleTorch}>{t(lang, torch.on ? "torchOff" : "torchOn")}</button>}
      <p><button class="secondary" onClick={onBack}>{t(lang, "manualSearch")}</button></p>
    </section>
  );
}
