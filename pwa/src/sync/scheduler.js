// When the runner runs: on request, periodically, and on a backoff while something waits (no DOM: the UI
// wires online and visibility events to kick()).

/**
 * Runs the runner now and then without touching the DOM: `kick()` asks for a round soon (coalescing
 * requests made while one runs), `start()` adds a periodic round. While changes or photos wait and the app
 * is online, rounds are retried on a backoff schedule (retryBaseMs doubling up to retryMaxMs) instead of the
 * long period: this is what sends the outbox where there is no Background Sync (Safari, Firefox). A sign-in
 * problem or being offline waits for the period (or the `online` event) instead. The UI calls kick() on
 * `online`, on `visibilitychange` to visible, and after each save.
 * @param {{runOnce: () => Promise<object>}} runner
 * @param {{intervalMs?: number, retryBaseMs?: number, retryMaxMs?: number, isOnline?: () => boolean, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout, onStart?: () => void, onResult?: (summary: object) => void, onError?: (error: unknown) => void}} [options]
 */
export function createScheduler(runner, {
  intervalMs = 5 * 60 * 1000,
  retryBaseMs = 5000,
  retryMaxMs = 2 * 60 * 1000,
  isOnline = () => globalThis.navigator?.onLine ?? true,
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (handle) => clearTimeout(handle),
  onStart = () => {},
  onResult = () => {},
  onError = () => {},
} = {}) {
  let running = null;
  let again = false;
  let timer = null;
  let started = false;
  let retries = 0;
  let last = null;

  function nextDelay() {
    const retryable = last && last.waiting && !last.error?.reauth && !last.stalled && isOnline();
    if (!retryable) {
      retries = 0;
      return intervalMs;
    }
    retries += 1;
    return Math.min(retryMaxMs, retryBaseMs * 2 ** (retries - 1));
  }

  function arm() {
    if (timer !== null) clearTimer(timer);
    timer = started ? setTimer(() => kick(), nextDelay()) : null;
  }

  async function loop() {
    do {
      again = false;
      onStart();
      try {
        last = await runner.runOnce();
        onResult(last);
      } catch (error) {
        last = null;
        onError(error);
      }
    } while (again);
  }

  /** Ask for a sync round; resolves when the round (and any asked for meanwhile) is done. */
  function kick() {
    if (running) {
      // A save made during a round must not wait for the next period.
      again = true;
      return running;
    }
    running = loop().finally(() => {
      running = null;
      arm();
    });
    return running;
  }

  return {
    kick,
    /** Start periodic rounds (and run one now). */
    start() {
      started = true;
      return kick();
    },
    /** Stop periodic rounds; a round in progress finishes. */
    stop() {
      started = false;
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
    /** Whether a round is in progress in this tab. */
    get busy() {
      return running !== null;
    },
  };
}
