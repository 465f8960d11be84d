/** A timer handle the clock hands back; only ever passed back to `clearTimer`. */
export type TimerHandle = unknown;

/**
 * Time and timers, injectable so the cache's behaviour over hours can be tested in milliseconds
 * and simulated for a fleet.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Schedules `callback`; the timer must not keep the process alive. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: TimerHandle): void;
  /**
   * Resolves after `delayMs` (used between retries of a request a caller is waiting for), or at
   * once when `signal` aborts, so a closed cache does not hold the process for the rest of a backoff.
   */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

// setTimeout silently fires at once for delays above 2^31-1 ms; long waits are re-armed instead.
const longestTimerMs = 2 ** 31 - 1;

/** The real clock: `Date.now`, and timers that never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), longestTimerMs));
    timer.unref();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
  sleep(delayMs, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      // A caller is waiting on this sleep, so it holds the process open like the request would.
      const timer = setTimeout(done, Math.max(0, delayMs));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};
