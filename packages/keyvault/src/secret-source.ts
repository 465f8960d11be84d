import { ClosedError, KeylessError, ServiceUnavailableError, ThrottledError } from '@keyless/core';
import {
  BackgroundAttempt,
  type Clock,
  delayAfterFailure,
  installRedactedViews,
  recordRotationHandled,
  refreshJitterFraction,
  registerSecretForRedaction,
  spreadEarlier,
  TypedEmitter,
} from '@keyless/core/internal';
import type { SecretChangeEvent, SecretRefreshFailedEvent, SecretSourceEvents } from './secret-events.js';

/** Options of `secret(name, options)`. */
export interface SecretSourceOptions {
  /**
   * How long a fetched value is served before a background refresh starts. get() never waits for
   * that refresh while a value is cached. Default 5 minutes.
   */
  refreshIntervalMs?: number;
  /** Pin a version: fetched once, never refreshed (versions do not change). */
  version?: string;
}

/** One cached Key Vault secret that keeps itself fresh: `get()` it whenever the value is needed. */
export interface SecretSource {
  /** The secret's name in the vault. */
  readonly name: string;
  /**
   * The value. Concurrent callers without a cached value share one request; with one, they get it
   * at once (a refresh due by then starts in the background).
   */
  get(): Promise<string>;
  /**
   * For a consumer whose login was refused with the cached value: the next get() fetches afresh
   * (still single flight) and the stale value is not served any more.
   */
  invalidate(): void;
  /** Told when a new version is cached (never the value); returns a function that stops listening. */
  on(event: 'change', listener: (event: SecretChangeEvent) => void): () => void;
  /** Told when a fetch fails, and whether the last good value is still served. */
  on(event: 'refresh-failed', listener: (event: SecretRefreshFailedEvent) => void): () => void;
  /** Version of the cached value; undefined before the first value and after invalidate(). */
  readonly version: string | undefined;
}

export const defaultRefreshIntervalMs = 5 * 60_000;

/** By default a background refresh comes up to a tenth of the interval early, at random (as tokens do). */
export const defaultRefreshJitterFraction = refreshJitterFraction;

export interface FetchedSecret {
  value: string;
  version: string | undefined;
}

export interface SecretSourceDefinition {
  name: string;
  /** A pinned version: no refresh after the first value. */
  version?: string | undefined;
  refreshIntervalMs: number;
  /** One request to Key Vault; throws KeylessError. */
  fetch: () => Promise<FetchedSecret>;
  clock: Clock;
  random: () => number;
  /** A background refresh comes up to this fraction of the interval early, at random (0 = exactly on time). */
  refreshJitterFraction: number;
  baseRetryDelayMs: number;
  maxRetryDelayMs: number;
}

interface Flight {
  promise: Promise<string>;
  /** The invalidate() generation it was started in; a later generation does not join it. */
  generation: number;
}

/**
 * One cached secret and everything about keeping it fresh: single flight, background refresh,
 * serve-last-good on 429/5xx with backoff, invalidate() for refused logins, change events. Mirrors
 * the token cache: the hot path (a cached value, no refresh due) returns the same resolved promise.
 */
export class KeylessSecretSource implements SecretSource {
  readonly name: string;
  readonly #definition: SecretSourceDefinition;
  readonly #clock: Clock;
  readonly #emitter = new TypedEmitter<SecretSourceEvents>();

  #valuePromise: Promise<string> | undefined;
  #version: string | undefined;
  /** False before the first value and after invalidate(): the cached promise is not handed out. */
  #serving = false;
  #generation = 0;
  #inflight: Flight | undefined;
  /** The next background attempt: the refresh, or a retry after a failed one. */
  readonly #backgroundAttempt: BackgroundAttempt;
  #failedAttempts = 0;
  /** After a cold caller was told to wait (Retry-After), nobody asks again before this. */
  #notBefore = 0;
  #lastColdError: KeylessError | undefined;
  #closed = false;

  constructor(definition: SecretSourceDefinition) {
    this.name = definition.name;
    this.#definition = definition;
    this.#clock = definition.clock;
    this.#backgroundAttempt = new BackgroundAttempt(definition.clock, () => {
      if (!this.#closed && this.#inflight === undefined && this.#serving) this.#startBackgroundRefresh();
    });
    // Names, version and state only: never the value.
    installRedactedViews(
      this,
      () => ({ name: this.name, version: this.version, state: this.#state() }),
      'SecretSource',
    );
  }

  get version(): string | undefined {
    return this.#serving ? this.#version : undefined;
  }

  get(): Promise<string> {
    if (this.#closed) return Promise.reject(new ClosedError(`SecretSource '${this.name}'`));
    if (this.#serving && this.#valuePromise !== undefined) {
      // Timers can be late (a suspended laptop, a busy loop); callers nudge the refresh as well.
      if (this.#inflight === undefined && this.#backgroundAttempt.isDue()) this.#startBackgroundRefresh();
      return this.#valuePromise;
    }
    if (this.#inflight !== undefined && this.#inflight.generation === this.#generation) {
      return this.#inflight.promise;
    }
    return this.#startColdFetch();
  }

  invalidate(): void {
    if (this.#closed) return;
    this.#generation += 1;
    this.#serving = false;
    this.#backgroundAttempt.cancel();
  }

  on<Name extends keyof SecretSourceEvents>(
    name: Name,
    listener: (event: SecretSourceEvents[Name]) => void,
  ): () => void {
    return this.#emitter.on(name, listener);
  }

  /** Stops timers; nothing new is scheduled or emitted. The connector ends a request in flight. */
  close(): void {
    this.#closed = true;
    this.#backgroundAttempt.cancel();
    this.#emitter.removeAll();
  }

  /** For tests: whether a refresh or retry timer is armed. */
  get hasPendingTimer(): boolean {
    return this.#backgroundAttempt.armed;
  }

  #state(): string {
    if (this.#closed) return 'closed';
    if (this.#serving) return 'cached';
    return this.#valuePromise === undefined ? 'empty' : 'invalidated';
  }

  #startColdFetch(): Promise<string> {
    const wait = this.#notBefore - this.#clock.now();
    if (wait > 0 && this.#lastColdError !== undefined) {
      // The vault said when to come back; asking before then only earns another 429.
      return Promise.reject(waitError(this.#lastColdError, wait, this.name));
    }
    return this.#track(this.#fetch(this.#generation, false));
  }

  #startBackgroundRefresh(): void {
    if (this.#closed) return;
    this.#backgroundAttempt.cancel();
    const promise = this.#track(this.#fetch(this.#generation, true));
    // Nobody awaits a background refresh while the cached value serves: its rejection is reported
    // through 'refresh-failed', not as an unhandled rejection.
    promise.catch(() => {});
  }

  #track(fetching: Promise<string>): Promise<string> {
    const flight: Flight = { promise: fetching, generation: this.#generation };
    flight.promise = fetching.finally(() => {
      if (this.#inflight === flight) this.#inflight = undefined;
    });
    this.#inflight = flight;
    return flight.promise;
  }

  async #fetch(generation: number, background: boolean): Promise<string> {
    let fetched: FetchedSecret;
    try {
      fetched = await this.#definition.fetch();
    } catch (error) {
      const failure = asKeylessError(error, this.name);
      // A fetch superseded by invalidate() or close() decides nothing any more.
      if (!this.#closed && generation === this.#generation) this.#noteFailure(failure, background);
      throw failure;
    }
    registerSecretForRedaction(fetched.value);
    if (!this.#closed && generation === this.#generation) this.#install(fetched);
    return fetched.value;
  }

  #install(fetched: FetchedSecret): void {
    const previousVersion = this.#version;
    const hadValue = this.#valuePromise !== undefined;
    this.#valuePromise = Promise.resolve(fetched.value);
    this.#version = fetched.version;
    this.#serving = true;
    this.#failedAttempts = 0;
    this.#notBefore = 0;
    this.#lastColdError = undefined;
    // A pinned version never changes, so it is never refreshed.
    if (this.#definition.version === undefined) {
      // Up to a tenth of the interval early, never late: a fleet restarted together would otherwise
      // refresh every secret in the same seconds, interval after interval (see docs/scale.md).
      const { refreshIntervalMs, refreshJitterFraction, random } = this.#definition;
      this.#scheduleBackground(
        this.#clock.now() + spreadEarlier(refreshIntervalMs, random, refreshJitterFraction),
      );
    }
    if (fetched.version !== undefined && (fetched.version !== previousVersion || !hadValue)) {
      this.#emitter.emit('change', { name: this.name, previousVersion, version: fetched.version });
      // A new version after an earlier one: a rotation reached this process without a restart.
      if (previousVersion !== undefined) recordRotationHandled({ 'keyless.secret.name': this.name });
    }
  }

  #noteFailure(failure: KeylessError, background: boolean): void {
    this.#failedAttempts += 1;
    const now = this.#clock.now();
    const servingLastGood = this.#serving && this.#valuePromise !== undefined;
    if (servingLastGood && background) {
      // 429/5xx/network: back off and try again. 401/403/404 are not retried early (the answer will
      // not change until someone fixes the role or the name); the next regular refresh asks again.
      const delay = failure.retryable
        ? delayAfterFailure(failure, this.#failedAttempts, {
            baseDelayMs: this.#definition.baseRetryDelayMs,
            maxDelayMs: this.#definition.maxRetryDelayMs,
            random: this.#definition.random,
          })
        : this.#definition.refreshIntervalMs;
      this.#scheduleBackground(now + delay);
    } else if (failure.retryable && failure.retryAfterMs !== undefined) {
      this.#notBefore = now + failure.retryAfterMs;
      this.#lastColdError = failure;
    }
    this.#emitter.emit('refresh-failed', { name: this.name, error: failure, servingLastGood });
  }

  #scheduleBackground(at: number): void {
    if (!this.#closed) this.#backgroundAttempt.schedule(at);
  }
}

function asKeylessError(error: unknown, name: string): KeylessError {
  if (error instanceof KeylessError) return error;
  // The fetcher maps every failure; anything else is a bug we still must not let loose untyped.
  return new ServiceUnavailableError(`reading secret '${name}' failed unexpectedly`, {
    cause: error,
    retryable: true,
  });
}

function waitError(last: KeylessError, waitMs: number, name: string): KeylessError {
  const message = `Key Vault asked to wait before reading secret '${name}' again`;
  const options = { cause: last, status: last.status, retryAfterMs: waitMs };
  return last.code === 'throttled'
    ? new ThrottledError(message, options)
    : new ServiceUnavailableError(message, options);
}
