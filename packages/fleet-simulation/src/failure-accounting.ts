import type { ProcessClock } from './process-clock.js';
import type { WorkloadSettings } from './scenario.js';
import type { FailedOperations } from './simulated-app.js';
import { requestsBetween, requestsPerSecond } from './workload.js';

type PerRequestKind = 'blob' | 'keyVault';

/**
 * Counts the requests that fail for want of a token or secret, without simulating each request.
 * A step checks each dependency once; while one fails, the next request (one inter-arrival time
 * later) asks again, as it would, and each failed attempt costs the requests that waited on it.
 * Redis commands fail for as long as the connection's password is refused.
 */
export class FailureAccounting {
  readonly #clock: ProcessClock;
  readonly #workload: WorkloadSettings;
  readonly #failures: FailedOperations;
  readonly #retrying = new Set<PerRequestKind>();
  #redisRefusedSince: number | undefined;
  #stopped = false;

  constructor(clock: ProcessClock, workload: WorkloadSettings, failures: FailedOperations) {
    this.#clock = clock;
    this.#workload = workload;
    this.#failures = failures;
  }

  /** A request needs `call` to succeed (a token for Blob, the app setting for Key Vault). */
  use(kind: PerRequestKind, call: () => Promise<unknown>): void {
    if (this.#retrying.has(kind)) return;
    const startedAt = this.#clock.now();
    call().then(undefined, () => {
      if (this.#stopped) return;
      const now = this.#clock.now();
      this.#failures[kind] += 1 + requestsBetween(this.#workload, startedAt, now);
      this.#retrying.add(kind);
      this.#clock.setTimer(() => {
        this.#retrying.delete(kind);
        this.use(kind, call);
      }, 1000 / requestsPerSecond(this.#workload, now));
    });
  }

  /** A pooled connection failed to open: the query waiting for it fails. */
  connectionFailed(kind: 'sql' | 'postgres'): void {
    if (!this.#stopped) this.#failures[kind] += 1;
  }

  redisRefused(): void {
    this.#redisRefusedSince ??= this.#clock.now();
  }

  redisAccepted(): void {
    this.#settleRedis();
  }

  stop(): void {
    this.#settleRedis();
    this.#stopped = true;
  }

  #settleRedis(): void {
    if (this.#redisRefusedSince === undefined || this.#stopped) return;
    this.#failures.redis += requestsBetween(this.#workload, this.#redisRefusedSince, this.#clock.now());
    this.#redisRefusedSince = undefined;
  }
}
