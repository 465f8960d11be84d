import type { Clock, TimerHandle } from './clock.js';

/**
 * The one pending background attempt of a cached value — a refresh, or a retry after a failed
 * one — on an injectable clock. Scheduling replaces the pending attempt; a timer that fires before
 * the attempt is due (clocks clamp very long delays) re-arms itself instead of running early.
 * Shared by the token cache and the Key Vault secret sources.
 */
export class BackgroundAttempt {
  readonly #clock: Clock;
  readonly #run: () => void;
  #handle: TimerHandle | undefined;
  #dueAt = Number.POSITIVE_INFINITY;

  /** `run` is called once the attempt is due; it decides itself whether there is anything to do. */
  constructor(clock: Clock, run: () => void) {
    this.#clock = clock;
    this.#run = run;
  }

  /** When the pending attempt is due; `Infinity` when none is. */
  get dueAt(): number {
    return this.#dueAt;
  }

  /** Whether a timer is armed (it never keeps the process alive: the clock's timers are unref'd). */
  get armed(): boolean {
    return this.#handle !== undefined;
  }

  /** Whether an attempt is due now: callers nudge it when the timer is late (a suspended laptop). */
  isDue(): boolean {
    return this.#clock.now() >= this.#dueAt;
  }

  /** Replaces any pending attempt with one at `at` (a clock timestamp). */
  schedule(at: number): void {
    this.#disarm();
    this.#dueAt = at;
    this.#handle = this.#clock.setTimer(() => this.#fire(), at - this.#clock.now());
  }

  /** Drops the pending attempt, if any. */
  cancel(): void {
    this.#disarm();
    this.#dueAt = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#handle = undefined;
    if (this.isDue()) this.#run();
    else this.schedule(this.#dueAt);
  }

  #disarm(): void {
    if (this.#handle !== undefined) {
      this.#clock.clearTimer(this.#handle);
      this.#handle = undefined;
    }
  }
}
