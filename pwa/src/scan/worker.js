// The QR decoder (zxing-cpp's reader compiled to WebAssembly, served from our origin and precached),
// decoding camera frames off the main thread: each frame as it is, then as variants (passes.js) while
// its time budget lasts.
import { prepareZXingModule, readBarcodes } from "zxing-wasm/reader";
import wasmUrl from "zxing-wasm/reader/zxing_reader.wasm?url";
import { readFrame } from "./passes.js";

prepareZXingModule({
  overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
  fireImmediately: true,
});

const read = (pixels, options) => readBarcodes(pixels instanceof ImageData ? pixels : new ImageData(pixels.data, pixels.width, pixels.height), options);

/** A few decodes of a made-up frame, so the WebAssembly is compiled and optimised before the first real one. */
async function warmUp() {
  const width = 640;
  const height = 480;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    const v = ((i >> 2) % width >> 3) % 2 === ((i >> 2) / width >> 3) % 2 ? 30 : 220; // a checkerboard
    data[i] = data[i + 1] = data[i + 2] = v;
    data[i + 3] = 255;
  }
  for (let round = 0; round < 3; round += 1) await read({ data, width, height }, { formats: ["QRCode"], tryHarder: true });
}

// {warm: true} → {warm: true, ms}; {id, imageData, budgetMs, start} → {id, text, pass, tried, next, ms}: budgetMs 0 is
// a single pass.
// lib.webworker types `self` as any worker's scope; this file runs as a dedicated worker.
const worker = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));

worker.addEventListener("message", async (event) => {
  if (event.data.warm) {
    const began = performance.now();
    await warmUp().catch(() => {});
    worker.postMessage({ warm: true, ms: performance.now() - began });
    return;
  }
  const { id, imageData, budgetMs = 0, start = 1 } = event.data;
  const began = performance.now();
  try {
    const outcome = await readFrame(imageData, read, { budgetMs, start });
    worker.postMessage({ id, ...outcome, ms: performance.now() - began });
  } catch (error) {
    worker.postMessage({ id, text: null, next: start, error: String(error?.message ?? error), ms: performance.now() - began });
  }
});
