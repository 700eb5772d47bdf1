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

// {id, imageData, budgetMs, start} → {id, text, pass, tried, next, ms}; budgetMs 0 is a single pass.
self.addEventListener("message", async (event) => {
  const { id, imageData, budgetMs = 0, start = 1 } = event.data;
  const began = performance.now();
  try {
    const outcome = await readFrame(imageData, read, { budgetMs, start });
    self.postMessage({ id, ...outcome, ms: performance.now() - began });
  } catch (error) {
    self.postMessage({ id, text: null, next: start, error: String(error?.message ?? error), ms: performance.now() - began });
  }
});
