import { STATUS_CODES } from 'node:http';
import { KeyVaultError } from './key-vault-errors.js';
import type { KeyVaultFailureOptions, KeyVaultFaults } from './key-vault-types.js';

interface PlannedFailure {
  status: number;
  // Infinity = until cleared.
  remaining: number;
  retryAfterSeconds: number | undefined;
}

export class KeyVaultFaultInjector implements KeyVaultFaults {
  #latencyMilliseconds = 0;
  #failure: PlannedFailure | undefined;

  get latencyMilliseconds(): number {
    return this.#latencyMilliseconds;
  }

  failWith(status: number, options: KeyVaultFailureOptions = {}): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`faults.failWith: status must be an HTTP error status (400–599), got ${status}`);
    }
    const { count, retryAfterSeconds } = options;
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
      throw new RangeError(`faults.failWith: count must be an integer >= 1, got ${count}`);
    }
    if (retryAfterSeconds !== undefined && (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0)) {
      throw new RangeError(
        `faults.failWith: retryAfterSeconds must be an integer >= 0, got ${retryAfterSeconds}`,
      );
    }
    this.#failure = {
      status,
      remaining: count ?? Number.POSITIVE_INFINITY,
      // Azure always tells a throttled client when to come back.
      retryAfterSeconds: retryAfterSeconds ?? (status === 429 ? 1 : undefined),
    };
  }

  setLatency(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) {
      throw new RangeError(
        `faults.setLatency: milliseconds must be a finite number >= 0, got ${milliseconds}`,
      );
    }
    this.#latencyMilliseconds = milliseconds;
  }

  clear(): void {
    this.#latencyMilliseconds = 0;
    this.#failure = undefined;
  }

  /** The injected failure for one request, used up; undefined when the request should go through. */
  next(): KeyVaultError | undefined {
    const failure = this.#failure;
    if (!failure) return undefined;
    if (--failure.remaining <= 0) this.#failure = undefined;
    const headers: Record<string, string> =
      failure.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(failure.retryAfterSeconds) };
    return new KeyVaultError(failure.status, faultCode(failure.status), faultMessage(failure.status), {
      headers,
    });
  }
}

function faultCode(status: number): string {
  if (status === 429) return 'Throttled';
  if (status === 503) return 'ServiceUnavailable';
  return (STATUS_CODES[status] ?? 'Error').replace(/[^A-Za-z]/g, '');
}

function faultMessage(status: number): string {
  if (status === 429) return 'Request was not processed because too many requests were received.';
  if (status === 503) return 'The service is temporarily unavailable. Please retry later.';
  return `Injected fault: ${status} ${STATUS_CODES[status] ?? ''}`.trim();
}
