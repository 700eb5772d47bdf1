// Reading a hard QR code: one decoder pass over a camera frame misses glare, blur, steep angles, dim light
// and small codes, so each frame is also tried as variants (the centre enlarged, contrast stretched tile by
// tile, noise smoothed, edges sharpened, another binariser) within a time budget. Successive frames carry
// on where the last left off, so a code the first variants miss meets the others within a second, and on a
// device too slow for the budget within as many frames as there are variants.
// Pure functions over {data, width, height} RGBA pixels: the worker and Node's tests run the same code.

/** The variants tried, cheapest and most often useful first; the first is the frame as the camera gave it. */
export const PASSES = [
  { name: "frame" },
  { name: "centre-2x", crop: 0.5, scale: 2 },
  { name: "local-contrast", local: true },
  { name: "local-contrast-centre-2x", crop: 0.5, scale: 2, local: true },
  { name: "smoothed-local-contrast", smooth: true, local: true },
  { name: "centre-1.5x-sharpened", crop: 0.7, scale: 1.5, sharpen: true },
  { name: "smoothed", smooth: true },
  { name: "global-threshold", binarizer: "GlobalHistogram" },
  { name: "centre-3x", crop: 0.33, scale: 3 },
];

/** Luminance (ITU-R BT.601, as zxing-cpp computes it) of RGBA pixels. */
export function luminance({ data, width, height }) {
  const gray = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < gray.length; i += 1, p += 4) {
    gray[i] = (data[p] * 306 + data[p + 1] * 601 + data[p + 2] * 117 + 512) >> 10;
  }
  return { gray, width, height };
}

/** The centred `crop` fraction of the picture, resampled bilinearly by `scale`. */
export function centreRegion({ gray, width, height }, crop = 1, scale = 1) {
  const cw = Math.max(1, Math.round(width * crop));
  const ch = Math.max(1, Math.round(height * crop));
  const x0 = Math.floor((width - cw) / 2);
  const y0 = Math.floor((height - ch) / 2);
  const ow = Math.max(1, Math.round(cw * scale));
  const oh = Math.max(1, Math.round(ch * scale));
  const out = new Uint8Array(ow * oh);
  for (let y = 0; y < oh; y += 1) {
    const sy = Math.min(ch - 1, Math.max(0, (y + 0.5) / scale - 0.5));
    const iy = Math.floor(sy);
    const fy = sy - iy;
    const row0 = (y0 + iy) * width + x0;
    const row1 = (y0 + Math.min(ch - 1, iy + 1)) * width + x0;
    for (let x = 0; x < ow; x += 1) {
      const sx = Math.min(cw - 1, Math.max(0, (x + 0.5) / scale - 0.5));
      const ix = Math.floor(sx);
      const fx = sx - ix;
      const jx = Math.min(cw - 1, ix + 1);
      const top = gray[row0 + ix] + (gray[row0 + jx] - gray[row0 + ix]) * fx;
      const bottom = gray[row1 + ix] + (gray[row1 + jx] - gray[row1 + ix]) * fx;
      out[y * ow + x] = top + (bottom - top) * fy + 0.5;
    }
  }
  return { gray: out, width: ow, height: oh };
}

/** A 3×3 box average of each pixel (sensor noise and screen moiré smoothed). */
export function smooth({ gray, width, height }) {
  const out = new Uint8Array(gray.length);
  for (let y = 0; y < height; y += 1) {
    const ya = Math.max(0, y - 1) * width;
    const yb = y * width;
    const yc = Math.min(height - 1, y + 1) * width;
    for (let x = 0; x < width; x += 1) {
      const xa = Math.max(0, x - 1);
      const xc = Math.min(width - 1, x + 1);
      const sum = gray[ya + xa] + gray[ya + x] + gray[ya + xc] + gray[yb + xa] + gray[yb + x] + gray[yb + xc]
        + gray[yc + xa] + gray[yc + x] + gray[yc + xc];
      out[yb + x] = (sum + 4) / 9;
    }
  }
  return { gray: out, width, height };
}

/** Edges steepened (unsharp mask: twice the pixel less its neighbourhood), for a blurred code. */
export function sharpen(picture) {
  const blurred = smooth(picture).gray;
  const out = new Uint8Array(picture.gray.length);
  for (let i = 0; i < out.length; i += 1) out[i] = Math.min(255, Math.max(0, 2 * picture.gray[i] - blurred[i]));
  return { gray: out, width: picture.width, height: picture.height };
}

/**
 * Contrast stretched tile by tile: each pixel mapped from its neighbourhood's darkest..brightest to 0..255
 * (tile bounds interpolated), so a code washed out by glare or lost in the dark regains full contrast.
 * Tiles whose range is under `floor` (flat paper or wall) are stretched no further than `floor` allows.
 */
export function localContrast({ gray, width, height }, tile = 40, floor = 24) {
  const tx = Math.max(1, Math.ceil(width / tile));
  const ty = Math.max(1, Math.ceil(height / tile));
  const lo = new Float32Array(tx * ty);
  const hi = new Float32Array(tx * ty);
  for (let j = 0; j < ty; j += 1) {
    for (let i = 0; i < tx; i += 1) {
      let min = 255;
      let max = 0;
      const yEnd = Math.min(height, (j + 1) * tile);
      const xEnd = Math.min(width, (i + 1) * tile);
      for (let y = j * tile; y < yEnd; y += 1) {
        for (let x = i * tile; x < xEnd; x += 1) {
          const v = gray[y * width + x];
          if (v < min) min = v;
          if (v > max) max = v;
        }
      }
      if (max - min < floor) {
        const middle = (max + min) / 2;
        min = middle - floor / 2;
        max = middle + floor / 2;
      }
      lo[j * tx + i] = min;
      hi[j * tx + i] = max;
    }
  }
  const out = new Uint8Array(gray.length);
  for (let y = 0; y < height; y += 1) {
    const gy = Math.min(ty - 1, Math.max(0, (y + 0.5) / tile - 0.5));
    const j0 = Math.floor(gy);
    const j1 = Math.min(ty - 1, j0 + 1);
    const fy = gy - j0;
    for (let x = 0; x < width; x += 1) {
      const gx = Math.min(tx - 1, Math.max(0, (x + 0.5) / tile - 0.5));
      const i0 = Math.floor(gx);
      const i1 = Math.min(tx - 1, i0 + 1);
      const fx = gx - i0;
      const a = j0 * tx;
      const b = j1 * tx;
      const low = (lo[a + i0] * (1 - fx) + lo[a + i1] * fx) * (1 - fy) + (lo[b + i0] * (1 - fx) + lo[b + i1] * fx) * fy;
      const high = (hi[a + i0] * (1 - fx) + hi[a + i1] * fx) * (1 - fy) + (hi[b + i0] * (1 - fx) + hi[b + i1] * fx) * fy;
      const v = ((gray[y * width + x] - low) * 255) / Math.max(1, high - low);
      out[y * width + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { gray: out, width, height };
}

/** A grey picture as the RGBA pixels the decoder takes. */
export function toRgba({ gray, width, height }) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, p = 0; i < gray.length; i += 1, p += 4) {
    data[p] = data[p + 1] = data[p + 2] = gray[i];
    data[p + 3] = 255;
  }
  return { data, width, height };
}

/** The pixels a pass hands the decoder, made from the frame's luminance. */
export function variant(gray, pass) {
  let picture = pass.crop || pass.scale ? centreRegion(gray, pass.crop ?? 1, pass.scale ?? 1) : gray;
  if (pass.smooth) picture = smooth(picture);
  if (pass.sharpen) picture = sharpen(picture);
  if (pass.local) picture = localContrast(picture);
  return toRgba(picture);
}

/**
 * Read one frame: the frame as it is, then at least one further pass from `start` on (wrapping round), and
 * more while the time spent stays under `budgetMs`. The one further pass is what a device too slow for the
 * budget relies on: without it, a frame whose first pass alone outlasts the budget tries no variant, and such
 * a device never reads a code that only a variant reads. `budgetMs` 0 is the single first pass (the
 * baseline). `read(pixels, options)` is the decoder (zxing-wasm's readBarcodes, given {data, width, height}
 * wrapped as the caller's environment needs). Returns {text, pass, tried, next}:
 * the text of the first valid QR code found (or null), the pass that found it, how many passes ran, and
 * where the next frame should carry on.
 */
export async function readFrame(frame, read, { budgetMs = 0, start = 1, now = () => performance.now() } = {}) {
  const began = now();
  const order = [0];
  for (let k = 0; k < PASSES.length - 1; k += 1) order.push(1 + ((start - 1 + k) % (PASSES.length - 1)));
  let gray = null;
  let tried = 0;
  let next = start;
  for (const index of order) {
    if (budgetMs <= 0 ? tried > 0 : tried > 1 && now() - began >= budgetMs) break;
    const pass = PASSES[index];
    let pixels = frame;
    if (index > 0) {
      gray ??= luminance(frame);
      pixels = variant(gray, pass);
    }
    const results = await read(pixels, {
      formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1, binarizer: pass.binarizer ?? "LocalAverage",
    });
    tried += 1;
    if (index > 0) next = 1 + (index % (PASSES.length - 1));
    const found = results.find((r) => r.isValid && r.text);
    if (found) return { text: found.text, pass: pass.name, tried, next };
  }
  return { text: null, pass: null, tried, next };
}
