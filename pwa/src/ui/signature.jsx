// A signature pad: a finger or stylus draws on a canvas (pointer events); confirmed, it becomes a PNG.
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "./i18n.js";
import { StoredImage } from "./stored-image.jsx";

/**
 * Draw a signature; `onSigned(pngBytes)` when confirmed. Once `signed` (the signature entry), shows the
 * signature itself and lets it be redone before submission (`onRedo(signature)`).
 * @param {{lang: string, db?: import("idb").IDBPDatabase, label: string, signed?: {sha256?: string} | boolean | null,
 *   disabled?: boolean, onSigned: (png: ArrayBuffer) => void | Promise<void>, onRedo?: (signature: object) => void | Promise<void>,
 *   testId?: string}} props
 */
export function SignaturePad({ lang, db, label, signed, disabled, onSigned, onRedo, testId }) {
  const canvas = useRef(null);
  const drawing = useRef(false);
  const [inked, setInked] = useState(false);
  useEffect(() => {
    const pen = canvas.current?.getContext("2d");
    if (!pen) return;
    pen.fillStyle = "#fff";
    pen.fillRect(0, 0, canvas.current.width, canvas.current.height);
    pen.lineWidth = 3;
    pen.lineCap = "round";
    pen.strokeStyle = "#0b1f3a";
  }, [Boolean(signed)]);
  const point = (event) => {
    const box = canvas.current.getBoundingClientRect();
    return [((event.clientX - box.left) * canvas.current.width) / box.width, ((event.clientY - box.top) * canvas.current.height) / box.height];
  };
  const down = (event) => {
    drawing.current = true;
    canvas.current.setPointerCapture(event.pointerId);
    const pen = canvas.current.getContext("2d");
    pen.beginPath();
    pen.moveTo(...point(event));
  };
  const move = (event) => {
    if (!drawing.current) return;
    const pen = canvas.current.getContext("2d");
    pen.lineTo(...point(event));
    pen.stroke();
    setInked(true);
  };
  const up = () => { drawing.current = false; };
  const clear = () => {
    const pen = canvas.current.getContext("2d");
    pen.fillStyle = "#fff";
    pen.fillRect(0, 0, canvas.current.width, canvas.current.height);
    setInked(false);
  };
  const confirm = () => canvas.current.toBlob(async (blob) => onSigned(await blob.arrayBuffer()), "image/png");
  if (signed) {
    // The expert's pad only says whether it is signed (true); the inspectors' carry the stored signature.
    const stored = typeof signed === "object" ? signed.sha256 : null;
    return (
      <div class="signature signed" data-testid={testId}>
        <div>✓ {label} · {t(lang, "signed")}</div>
        {db && stored && <StoredImage db={db} sha256={stored} mime="image/png" className="signature-image" />}
        {onRedo && <button type="button" class="secondary redo-signature" onClick={() => onRedo(signed)}>{t(lang, "redoSignature")}</button>}
      </div>
    );
  }
  return (
    <div class="signature" data-testid={testId}>
      <div>{label}</div>
      <canvas ref={canvas} width="600" height="180" onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
      <button class="secondary" onClick={clear} disabled={disabled}>{t(lang, "clear")}</button>
      <button onClick={confirm} disabled={disabled || !inked}>{t(lang, "confirmSignature")}</button>
    </div>
  );
}
