import { performance } from 'node:perf_hooks';
import type { IdentityFaults, ThrottleOptions } from './identity-types.js';

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'outage' }
  | { kind: 'throttle'; retryAfter: string }
  | { kind: 'fail'; status: number };

interface CountedFault {
  // Infinity = until cleared.
  remaining: number;
}

export class FaultInjector implements IdentityFaults {
  #latencyMilliseconds = 0;
  #throttle: (CountedFault & { retryAfter: string }) | undefined;
  #failure: (CountedFault & { status: number }) | undefined;
  // Monotonic time, so a test's fake token clock cannot stretch or end an outage.
  #outageUntil: number | undefined;

  get latencyMilliseconds(): number {
    return this.#latencyMilliseconds;
  }

  setLatency(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) {
      throw new RangeError(
        `faults.setLatency: milliseconds must be a finite number >= 0, got ${milliseconds}`,
      );
    }
    this.#latencyMilliseconds = milliseconds;
  }

  throttle(options: ThrottleOptions = {}): void {
    const { retryAfterSeconds, retryAfterDate } = options;
    if (retryAfterSeconds !== undefined && retryAfterDate !== undefined) {
      throw new TypeError('faults.throttle: give retryAfterSeconds or retryAfterDate, not both');
    }
    let retryAfter = '1';
    if (retryAfterDate !== undefined) {
      if (!(retryAfterDate instanceof Date) || Number.isNaN(retryAfterDate.getTime())) {
        throw new TypeError('faults.throttle: retryAfterDate must be a valid Date');
      }
      retryAfter = retryAfterDate.toUTCString();
    } else if (retryAfterSeconds !== undefined) {
      if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
        throw new RangeError(
          `faults.throttle: retryAfterSeconds must be an integer >= 0, got ${retryAfterSeconds}`,
        );
      }
      retryAfter = String(retryAfterSeconds);
    }
    this.#throttle = { remaining: countOf(options.count, 'faults.throttle'), retryAfter };
  }

  failWith(status: number, options: { count?: number } = {}): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`faults.failWith: status must be an HTTP error status (400–599), got ${status}`);
    }
    this.#failure = { remaining: countOf(options.count, 'faults.failWith'), status };
  }

  outage(options: { durationMs?: number } = {}): void {
    const { durationMs } = options;
    if (durationMs !== undefined && (!Number.isFinite(durationMs) || durationMs < 0)) {
      throw new RangeError(`faults.outage: durationMs must be a finite number >= 0, got ${durationMs}`);
    }
    this.#outageUntil = durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + durationMs;
  }

  clear(): void {
    this.#latencyMilliseconds = 0;
    this.#throttle = undefined;
    this.#failure = undefined;
    this.#outageUntil = undefined;
  }

  /** Picks the fault for one token request and uses it up; an outage beats a throttle beats a failure. */
  next(): FaultDecision {
    if (this.#outageUntil !== undefined) {
      if (performance.now() < this.#outageUntil) return { kind: 'outage' };
      this.#outageUntil = undefined;
    }
    if (this.#throttle) {
      const { retryAfter } = this.#throttle;
      if (--this.#throttle.remaining <= 0) this.#throttle = undefined;
      return { kind: 'throttle', retryAfter };
    }
    if (this.#failure) {
      const { status } = this.#failure;
      if (--this.#failure.remaining <= 0) this.#failure = undefined;
      return { kind: 'fail', status };
    }
    return { kind: 'none' };
  }
}

function countOf(count: number | undefined, caller: string): number {
  if (count === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`${caller}: count must be an integer >= 1, got ${count}`);
  }
  return count;
}
