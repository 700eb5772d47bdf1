// Photos as evidence: re-encoded on the device (long edge ≤ 2048 px, JPEG) with the time, the position and
// the enterprise burnt in, so that a print or a forwarded copy still says where and when it was taken.
// Uses createImageBitmap and OffscreenCanvas where the engine has them; where it lacks them (older Safari,
// some Firefox options) the caller hands in page-made fallbacks (ui/canvas.js), since only ui/ touches the DOM.

import { sha256Hex } from "../db/store.js";

export const MAX_EDGE = 2048;

/** The size an image of `width`×`height` is scaled to so that its long edge is at most `maxEdge`. */
export function fittedSize(width, height, maxEdge = MAX_EDGE) {
  const scale = Math.min(1, maxEdge / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The watermark's lines: local time, position (or its absence) and the enterprise. */
export function watermarkLines({ at, position, enterpriseName }) {
  const time = at.toLocaleString("zh-CN", { hour12: false });
  const where = position
    ? `${position.lat.toFixed(6)}, ${position.lon.toFixed(6)} ±${Math.round(position.accuracy)}m`
    : "无定位 / no position";
  return [time, where, enterpriseName];
}

/** A 2D canvas of `width`×`height`: an OffscreenCanvas when the engine draws on one, else `fallback(width, height)`. */
export function makeCanvas(width, height, fallback) {
  if (typeof OffscreenCanvas === "function") {
    const canvas = new OffscreenCanvas(width, height);
    if (canvas.getContext("2d") && typeof canvas.convertToBlob === "function") return canvas;
  }
  if (!fallback) throw new Error("no OffscreenCanvas and no fallback canvas");
  return fallback(width, height);
}

/** A canvas's pixels as an image Blob, from an OffscreenCanvas or a page's canvas alike. */
export function canvasBlob(canvas, type, quality) {
  if (typeof canvas.convertToBlob === "function") return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the canvas gave no image"))), type, quality);
  });
}

/**
 * A drawable image of `file`, upright as its EXIF says: createImageBitmap with imageOrientation, else without the
 * option (engines that reject it apply EXIF by default or ignore it), else `fallback(file)` (a page's <img>).
 * Returns {source, width, height, close()}.
 */
export async function decodeImage(file, fallback) {
  const attempts = [];
  if (typeof createImageBitmap === "function") {
    attempts.push(() => createImageBitmap(file, { imageOrientation: "from-image" }), () => createImageBitmap(file));
  }
  if (fallback) attempts.push(() => fallback(file));
  let failure = new Error("this browser cannot decode images here");
  for (const attempt of attempts) {
    try {
      const image = await attempt();
      if (image.source) return image;
      return { source: image, width: image.width, height: image.height, close: () => image.close?.() };
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/**
 * Re-encode a picked or captured image file; returns the JPEG bytes, their SHA-256, the original's
 * SHA-256 and the size. `fallbacks` ({canvas, image}) are used where the engine lacks OffscreenCanvas or
 * createImageBitmap.
 * @param {Blob} file
 * @param {{lines: string[], quality?: number, maxEdge?: number, fallbacks?: {canvas?: Function, image?: Function}}} options
 */
export async function encodePhoto(file, { lines, quality = 0.85, maxEdge = MAX_EDGE, fallbacks = {} }) {
  const original = await file.arrayBuffer();
  const image = await decodeImage(file, fallbacks.image);
  const { width, height } = fittedSize(image.width, image.height, maxEdge);
  const canvas = makeCanvas(width, height, fallbacks.canvas);
  const pen = canvas.getContext("2d");
  pen.drawImage(image.source, 0, 0, width, height);
  image.close();
  const size = Math.max(16, Math.round(width / 45));
  pen.font = `${size}px "Noto Sans CJK SC", "PingFang SC", sans-serif`;
  const boxHeight = Math.round(size * 1.35 * lines.length + size * 0.8);
  pen.fillStyle = "rgba(0, 0, 0, 0.55)";
  pen.fillRect(0, height - boxHeight, width, boxHeight);
  pen.fillStyle = "#ffffff";
  lines.forEach((line, index) => {
    pen.fillText(line, Math.round(size * 0.6), height - boxHeight + Math.round(size * (1.35 * index + 1.3)));
  });
  const blob = await canvasBlob(canvas, "image/jpeg", quality);
  const bytes = await blob.arrayBuffer();
  return {
    bytes,
    sha256: await sha256Hex(bytes),
    originalSha256: await sha256Hex(original),
    width,
    height,
    size: bytes.byteLength,
    mime: "image/jpeg",
  };
}
