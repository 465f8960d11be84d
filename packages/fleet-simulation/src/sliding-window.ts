/**
 * Counts events in the last `windowMs` (a sliding window) and remembers the highest count seen and
 * when. Times must be added in order, which virtual time guarantees.
 */
export class SlidingWindow {
  readonly windowMs: number;
  readonly #times: number[] = [];
  #head = 0;
  #peak = 0;
  #peakAt: number | undefined;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Events in (now − window, now]. */
  count(now: number): number {
    this.#expire(now);
    return this.#times.length - this.#head;
  }

  /** Time at which the oldest counted event leaves the window; undefined when empty. */
  nextExpiry(now: number): number | undefined {
    this.#expire(now);
    const oldest = this.#times[this.#head];
    return oldest === undefined ? undefined : oldest + this.windowMs;
  }

  add(now: number): number {
    this.#expire(now);
    this.#times.push(now);
    const count = this.#times.length - this.#head;
    if (count > this.#peak) {
      this.#peak = count;
      this.#peakAt = now;
    }
    return count;
  }

  get peak(): number {
    return this.#peak;
  }

  get peakAt(): number | undefined {
    return this.#peakAt;
  }

  #expire(now: number): void {
    const times = this.#times;
    const cutoff = now - this.windowMs;
    while (this.#head < times.length && (times[this.#head] as number) <= cutoff) this.#head += 1;
    // Compact now and then so a 48-hour run does not keep every timestamp.
    if (this.#head > 4096 && this.#head * 2 > times.length) {
      times.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
