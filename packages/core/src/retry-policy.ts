import { KeylessError } from './errors.js';

/** The steps of `backoffDelay`: the first wait's full step, doubled per attempt up to `maxDelayMs`. */
export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** 0..1: random source, injectable so tests are deterministic. */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so a fleet that
 * failed together does not retry together, yet no retry comes back immediately.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP-date. Returns milliseconds from `now`,
 * or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** 410 means IMDS is being upgraded; Azure's guidance is to keep retrying for at least 70 s. */
export const imdsUpgradeRetryWindowMs = 75_000;

/**
 * The delay before the next attempt after `error`: the server's Retry-After (plus up to a second of
 * jitter) when it gave one, else `backoffDelay`.
 */
export function delayAfterFailure(error: unknown, attempt: number, options: BackoffOptions): number {
  if (error instanceof KeylessError && error.retryAfterMs !== undefined) {
    // Honour the server's wait, plus a little jitter so waiters don't return in lockstep.
    const random = options.random ?? Math.random;
    return error.retryAfterMs + Math.round(random() * Math.min(1000, error.retryAfterMs * 0.1));
  }
  return backoffDelay(attempt, options);
}

/**
 * Background refreshes come up to this fraction of their wait early, at random: processes that
 * started together (a deploy, a restart) would otherwise refresh in the same seconds, forever.
 */
export const refreshJitterFraction = 0.1;

/** `waitMs` shortened by up to `fraction` of itself, at random; never lengthened. */
export function spreadEarlier(
  waitMs: number,
  random: () => number,
  fraction = refreshJitterFraction,
): number {
  return waitMs - waitMs * fraction * random();
}

/** Whether a keyless error says that asking again later may succeed (429, 5xx, network). */
export function isRetryable(error: unknown): boolean {
  return error instanceof KeylessError && error.retryable;
}
