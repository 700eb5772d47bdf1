"""The app's QR-decoding worker (pwa/dist's build) driven in a browser page, over still photos.

Used by the poster-set test and bench/pwa.py: each photo is decoded by the same worker the scan screen uses,
either as a single decoder pass (budget 0, one frame) or as the app does it (its per-frame budget, several
frames of the same scene carrying on through the variants).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.data.posters import Shot

ROOT = Path(__file__).resolve().parents[2]
#: The scan screen's per-frame budget (pwa/src/ui/scan.jsx FRAME_BUDGET_MS).
APP_BUDGET_MS = 300
#: How many variants follow the frame as it is (pwa/src/scan/passes.js PASSES, less the first).
VARIANTS = 8

_DECODE = """
async ({workerUrl, image, budgetMs, frames}) => {
  window.__qrWorker ??= new Worker(workerUrl, { type: "module" });
  const worker = window.__qrWorker;
  const ask = (message) => new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.postMessage(message);
  });
  const bytes = Uint8Array.from(atob(image), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const pen = canvas.getContext("2d", { willReadFrequently: true });
  pen.drawImage(bitmap, 0, 0);
  const frame = pen.getImageData(0, 0, bitmap.width, bitmap.height);
  const began = performance.now();
  let reply = null;
  let start = 1;
  let tried = 0;
  for (let index = 0; index < frames; index += 1) {
    reply = await ask({ id: index, imageData: frame, budgetMs, start });
    tried += reply.tried ?? 0;
    start = reply.next ?? start;
    if (reply.text || reply.error) break;
  }
  return { text: reply.text, pass: reply.pass, error: reply.error ?? null, tried, ms: performance.now() - began };
}
"""


@dataclass(frozen=True)
class Decoded:
    """What the worker made of one photo."""

    shot: Shot
    text: str | None
    pass_name: str | None
    passes_tried: int
    ms: float

    @property
    def right(self) -> bool:
        """Read, and exactly the poster's payload."""
        return self.text == self.shot.payload

    @property
    def wrong(self) -> bool:
        """Read as something else than the poster's payload (what must never happen)."""
        return self.text is not None and self.text != self.shot.payload


def worker_url(app_url: str) -> str:
    """The built decoding worker's URL on the app's origin."""
    found = sorted((ROOT / "pwa" / "dist" / "assets").glob("worker-*.js"))
    if not found:
        raise FileNotFoundError("pwa/dist has no decoding worker: run `make pwa`")
    return f"{app_url}/app/assets/{found[-1].name}"


def decode_shots(page: Any, app_url: str, shots: list[Shot], *, budget_ms: int, frames: int) -> list[Decoded]:
    """Decode each photo in ``page`` (already on the app's origin) with the app's worker."""
    url = worker_url(app_url)
    results = []
    for shot in shots:
        image = base64.b64encode(shot.path.read_bytes()).decode()
        reply = page.evaluate(
            _DECODE, {"workerUrl": url, "image": image, "budgetMs": budget_ms, "frames": frames}
        )
        if reply["error"]:
            raise RuntimeError(f"the worker failed on {shot.path.name}: {reply['error']}")
        results.append(Decoded(shot, reply["text"], reply["pass"], int(reply["tried"]), float(reply["ms"])))
    return results


def single_pass(page: Any, app_url: str, shots: list[Shot]) -> list[Decoded]:
    """One decoder pass over one frame (what the app did before)."""
    return decode_shots(page, app_url, shots, budget_ms=0, frames=1)


def app_passes(page: Any, app_url: str, shots: list[Shot], frames: int = 3) -> list[Decoded]:
    """What the scan screen does over ``frames`` frames of a still scene."""
    return decode_shots(page, app_url, shots, budget_ms=APP_BUDGET_MS, frames=frames)


def all_passes(page: Any, app_url: str, shots: list[Shot]) -> list[Decoded]:
    """Every pass over one frame, whatever the time (what the app's passes can read at all)."""
    return decode_shots(page, app_url, shots, budget_ms=10**9, frames=1)


def too_slow_device(page: Any, app_url: str, shots: list[Shot]) -> list[Decoded]:
    """The scan screen on a device whose first pass alone outlasts the budget (1 ms here, on any machine),
    over as many frames of a still scene as there are variants."""
    return decode_shots(page, app_url, shots, budget_ms=1, frames=VARIANTS)
