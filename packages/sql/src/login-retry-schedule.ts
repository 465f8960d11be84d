import { backoffDelay } from '@keyless/core/internal';
import type { SqlLoginRetryOptions } from './sql-options.js';

/**
 * When a new connection tries again after a transient failure, and when it stops.
 *
 * Azure SQL's transient login errors (40613 and the others in login-error-mapping.ts) mean the
 * database is being reconfigured — patched, scaled, failed over, resumed — which Microsoft says
 * mostly ends within 60 s, and its guidance is to wait 5 s before the first retry ("retrying after a
 * delay shorter than 5 seconds risks overwhelming the cloud service") and longer after each one:
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues#interval-increase-between-retries
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues#transient-fault-error-messages-40197-40613-and-others
 *
 * A socket that could not be opened (refused, reset, timed out) keeps the short schedule it always
 * had: the gateway stays up through a reconfiguration and answers with those errors, so an
 * unreachable server is far more often a firewall, DNS or port problem (1433, or 11000–11999 for the
 * Redirect policy), which no wait fixes and a minute of silent retries would hide.
 */
export class LoginRetrySchedule {
  readonly #settings: Required<SqlLoginRetryOptions>;
  readonly #deadline: number;
  readonly #random: () => number;
  #serverRetries = 0;
  #networkFailures = 0;

  constructor(
    settings: Required<SqlLoginRetryOptions>,
    startedAt: number,
    random: () => number = Math.random,
  ) {
    this.#settings = settings;
    this.#deadline = startedAt + settings.budgetMs;
    this.#random = random;
  }

  /** The time after which no retry starts: the first attempt's start plus `budgetMs`. */
  get deadline(): number {
    return this.#deadline;
  }

  /** Retries made after transient server errors so far. */
  get serverRetries(): number {
    return this.#serverRetries;
  }

  /**
   * The wait before the next attempt after a failure of `kind` at `now`, or undefined when the
   * login should give up: the budget is spent, or the socket failed `maxNetworkAttempts` times.
   */
  nextDelay(kind: 'server' | 'network', now: number): number | undefined {
    const remaining = this.#deadline - now;
    if (remaining <= 0) return undefined;
    if (kind === 'network') {
      this.#networkFailures += 1;
      if (this.#networkFailures >= maxNetworkAttempts) return undefined;
      // 250 ms doubling, half of it random: what the connector always did for a socket that failed.
      const delay = backoffDelay(this.#networkFailures, { ...networkBackoff, random: this.#random });
      return Math.min(remaining, delay);
    }
    this.#serverRetries += 1;
    return Math.min(remaining, reconfigurationDelay(this.#serverRetries, this.#settings, this.#random));
  }
}

/** Attempts per new connection when the socket cannot be opened: one, plus three quick retries. */
export const maxNetworkAttempts = 4;
const networkBackoff = { baseDelayMs: 250, maxDelayMs: 4_000 };

/**
 * The wait before retry number `retry` (1 = the first) after a transient server error: the first
 * delay, doubling, capped at three times the first delay (15 s by default, so an attempt follows
 * the end of a reconfiguration within ~15 s, at no more than a handful of logins per connection
 * and minute), and up to a fifth longer at random so that a pool's logins do not retry in lockstep.
 * The jitter only lengthens: never sooner than Microsoft's first delay.
 */
export function reconfigurationDelay(
  retry: number,
  settings: Pick<Required<SqlLoginRetryOptions>, 'firstDelayMs'>,
  random: () => number = Math.random,
): number {
  const step = Math.min(settings.firstDelayMs * 3, settings.firstDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step * (1 + random() / 5));
}
