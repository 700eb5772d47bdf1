// The QR decoder (zxing-cpp's reader compiled to WebAssembly, served from our origin and precached),
// decoding camera frames off the main thread.
import { prepareZXingModule, readBarcodes } from "zxing-wasm/reader";
import wasmUrl from "zxing-wasm/reader/zxing_reader.wasm?url";

prepareZXingModule({
  overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
  fireImmediately: true,
});

self.addEventListener("message", async (event) => {
  const { id, imageData } = event.data;
  try {
    const results = await readBarcodes(imageData, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
    self.postMessage({ id, text: results.find((r) => r.isValid)?.text ?? null });
  } catch (error) {
    self.postMessage({ id, text: null, error: String(error?.message ?? error) });
  }
});
