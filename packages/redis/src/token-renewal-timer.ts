import { backoffDelay, systemClock, type TimerHandle } from '@keyless/core/internal';
import { reauthenticationDelay, retryDelay } from './reauthentication-schedule.js';
import type { RedisCredentials } from './redis-credentials.js';

/**
 * When an Entra-mode connector asks for its next token: before the current one expires
 * (reauthenticationDelay: the schedule and jitter of reauthentication-schedule.ts), again at the
 * provider's refresh hint while it still hands back the same token, and with backoff after a
 * failure. A new token reaches the connections through the credentials' change listener, whose
 * re-AUTH calls `schedule()` again. One timer for the ioredis, ioredis Cluster and node-redis
 * connectors; in Key Vault-secret mode it never runs.
 */
export class TokenRenewalTimer {
  readonly #credentials: RedisCredentials;
  /** The provider could not renew the token (the connections close when theirs expires): report it. */
  readonly #onFailure: (error: unknown) => void;
  #timer: TimerHandle | undefined;
  #failedRenewals = 0;
  #stopped = false;

  constructor(credentials: RedisCredentials, onFailure: (error: unknown) => void) {
    this.#credentials = credentials;
    this.#onFailure = onFailure;
  }

  /** Sets the next renewal: after `delayMs`, or by the schedule for the current token's expiry. */
  schedule(delayMs?: number): void {
    if (this.#stopped || this.#credentials.kind !== 'entra-token') return;
    const expiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    if (expiresOnTimestamp === undefined) return;
    if (this.#timer !== undefined) systemClock.clearTimer(this.#timer);
    const delay = delayMs ?? reauthenticationDelay(expiresOnTimestamp - systemClock.now());
    this.#timer = systemClock.setTimer(() => {
      this.#timer = undefined;
      void this.#renew();
    }, delay);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) systemClock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    const credentials = this.#credentials;
    try {
      const changed = await credentials.refresh();
      this.#failedRenewals = 0;
      // A new token re-AUTHs and reschedules through the change listener.
      if (!changed) {
        const now = systemClock.now();
        this.schedule(
          retryDelay(now, credentials.refreshAfterTimestamp ?? now, credentials.expiresOnTimestamp ?? now),
        );
      }
    } catch (error) {
      this.#failedRenewals += 1;
      if (!this.#stopped) this.#onFailure(error);
      this.schedule(backoffDelay(this.#failedRenewals, { baseDelayMs: 1000, maxDelayMs: 30_000 }));
    }
  }
}
