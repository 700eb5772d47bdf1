// Photos as evidence: re-encoded on the device (long edge ≤ 2048 px, JPEG) with the time, the position and
// the enterprise burnt in, so that a print or a forwarded copy still says where and when it was taken.
// Uses createImageBitmap and OffscreenCanvas only: no document, testable in a worker or a page alike.

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

/**
 * Re-encode a picked or captured image file; returns the JPEG bytes, their SHA-256, the original's
 * SHA-256 and the size.
 * @param {Blob} file
 * @param {{lines: string[], quality?: number, maxEdge?: number}} options
 */
export async function encodePhoto(file, { lines, quality = 0.85, maxEdge = MAX_EDGE }) {
  const original = await file.arrayBuffer();
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const { width, height } = fittedSize(bitmap.width, bitmap.height, maxEdge);
  const canvas = new OffscreenCanvas(width, height);
  const pen = canvas.getContext("2d");
  pen.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const size = Math.max(16, Math.round(width / 45));
  pen.font = `${size}px "Noto Sans CJK SC", "PingFang SC", sans-serif`;
  const boxHeight = Math.round(size * 1.35 * lines.length + size * 0.8);
  pen.fillStyle = "rgba(0, 0, 0, 0.55)";
  pen.fillRect(0, height - boxHeight, width, boxHeight);
  pen.fillStyle = "#ffffff";
  lines.forEach((line, index) => {
    pen.fillText(line, Math.round(size * 0.6), height - boxHeight + Math.round(size * (1.35 * index + 1.3)));
  });
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
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
