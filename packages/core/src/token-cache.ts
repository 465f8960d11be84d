import { createAccessToken, type FetchedToken, type KeylessAccessToken } from './access-token.js';
import { BackgroundAttempt } from './background-attempt.js';
import { type Clock, systemClock } from './clock.js';
import { ClosedError, KeylessError, ServiceUnavailableError } from './errors.js';
import type {
  TokenAcquiredEvent,
  TokenEventBase,
  TokenRefreshFailedEvent,
  TokenThrottledEvent,
} from './events.js';
import { delayAfterFailure, imdsUpgradeRetryWindowMs, isRetryable, spreadEarlier } from './retry-policy.js';
import { countCacheHit } from './telemetry/instruments.js';
import { recordTokenRequest, recordTokenThrottle } from './telemetry/token-telemetry.js';

/**
 * A token handed over with less than the refresh window left is still refreshed at least this long
 * before it expires, when it has more than this left (see #install).
 */
export const latestRefreshBeforeExpiryMs = 3 * 60_000;

export interface CachePolicy {
  refreshBeforeExpiryMs: number;
  expiryMarginMs: number;
  maxColdAttempts: number;
  baseRetryDelayMs: number;
  maxRetryDelayMs: number;
  random: () => number;
  /** The backend answers from a cache of its own that may hand back the old token once (azure-identity). */
  backendCachesTokens: boolean;
}

/** Who gets told about an entry's life: every provider that holds it. */
export interface EntryListener {
  acquired(event: TokenAcquiredEvent): void;
  refreshed(event: TokenAcquiredEvent): void;
  refreshFailed(event: TokenRefreshFailedEvent): void;
  throttled(event: TokenThrottledEvent): void;
}

export interface EntryDefinition {
  key: string;
  describe: TokenEventBase;
  /** One backend request; `abortSignal` aborts when the entry closes. */
  fetch: (abortSignal: AbortSignal) => Promise<FetchedToken>;
  policy: CachePolicy;
}

/**
 * One cached token and everything about keeping it fresh: single flight, background refresh,
 * serve-while-valid on failure, backoff. The hot path (`get` with a valid token) allocates nothing:
 * it returns the same already-resolved promise every time.
 */
export class TokenCacheEntry {
  readonly key: string;
  readonly #describe: TokenEventBase;
  readonly #fetchWith: (abortSignal: AbortSignal) => Promise<FetchedToken>;
  /** Aborted by close(): requests and backoff sleeps nobody is waiting for end with it. */
  readonly #closing = new AbortController();
  readonly #policy: CachePolicy;
  readonly #clock: Clock;
  readonly #listeners = new Set<EntryListener>();

  #current: KeylessAccessToken | undefined;
  #currentPromise: Promise<KeylessAccessToken> | undefined;
  /** The cached token is handed out until then (expiry minus a safety margin). */
  #servingUntil = 0;
  /** The next background attempt: the refresh, or a retry after a failed one. */
  readonly #backgroundAttempt: BackgroundAttempt;
  /** After a retryable failure, nobody asks the endpoint again before this (Retry-After, backoff). */
  #notBefore = 0;
  #failedAttempts = 0;
  #inflight: Promise<KeylessAccessToken> | undefined;
  #closed = false;

  constructor(definition: EntryDefinition, clock: Clock) {
    this.key = definition.key;
    this.#describe = definition.describe;
    this.#fetchWith = definition.fetch;
    this.#policy = definition.policy;
    this.#clock = clock;
    this.#backgroundAttempt = new BackgroundAttempt(clock, () => {
      if (this.#inflight === undefined) this.#startBackgroundRefresh();
    });
  }

  get holderCount(): number {
    return this.#listeners.size;
  }

  addListener(listener: EntryListener): void {
    this.#listeners.add(listener);
  }

  removeListener(listener: EntryListener): void {
    this.#listeners.delete(listener);
  }

  get(): Promise<KeylessAccessToken> {
    const now = this.#clock.now();
    if (this.#currentPromise !== undefined && now < this.#servingUntil) {
      // Timers can be late (a suspended laptop, a busy loop); callers nudge the refresh as well.
      if (now >= this.#backgroundAttempt.dueAt && this.#inflight === undefined)
        this.#startBackgroundRefresh();
      countCacheHit();
      return this.#currentPromise;
    }
    if (this.#inflight !== undefined) return this.#inflight;
    return this.#startColdFetch();
  }

  /**
   * Stops timers and aborts the request in flight and any backoff sleep: only when no provider
   * holds the entry any more, so nobody else is waiting for them. A hung endpoint must not keep
   * the process alive after the last close().
   */
  close(): void {
    this.#closed = true;
    this.#backgroundAttempt.cancel();
    this.#listeners.clear();
    this.#closing.abort();
  }

  #fetch(): Promise<FetchedToken> {
    return this.#fetchWith(this.#closing.signal);
  }

  #startColdFetch(): Promise<KeylessAccessToken> {
    const flight = this.#coldFetch().finally(() => {
      if (this.#inflight === flight) this.#inflight = undefined;
    });
    this.#inflight = flight;
    return flight;
  }

  async #coldFetch(): Promise<KeylessAccessToken> {
    let attempts = 0;
    let firstUpgradeFailureAt: number | undefined;
    for (;;) {
      const wait = this.#notBefore - this.#clock.now();
      if (wait > 0) {
        if (wait > this.#policy.maxRetryDelayMs && this.#lastError) throw this.#lastError;
        await this.#clock.sleep(wait, this.#closing.signal);
      }
      if (this.#closed) throw new ClosedError('TokenProvider');
      const startedAt = this.#clock.now();
      try {
        const fetched = await this.#fetch();
        return this.#install(fetched, startedAt, 'acquired');
      } catch (error) {
        if (this.#closed) throw new ClosedError('TokenProvider');
        attempts += 1;
        const failure = asKeylessError(error);
        const now = this.#clock.now();
        if (failure.status === 410) firstUpgradeFailureAt ??= startedAt;
        const keepTrying410 =
          firstUpgradeFailureAt !== undefined && now - firstUpgradeFailureAt < imdsUpgradeRetryWindowMs;
        const willRetry = isRetryable(failure) && (keepTrying410 || attempts < this.#policy.maxColdAttempts);
        const delay = this.#noteFailure(failure, attempts);
        this.#emitFailure(failure, now - startedAt, willRetry ? now + delay : undefined);
        if (!willRetry) throw failure;
      }
    }
  }

  #lastError: KeylessError | undefined;

  /** Records a failure and returns how long to wait before the next attempt. */
  #noteFailure(failure: KeylessError, attempt: number): number {
    this.#lastError = failure;
    this.#failedAttempts = attempt;
    let delay = delayAfterFailure(failure, attempt, {
      baseDelayMs:
        failure.status === 410
          ? Math.max(3000, this.#policy.baseRetryDelayMs)
          : this.#policy.baseRetryDelayMs,
      maxDelayMs: this.#policy.maxRetryDelayMs,
      random: this.#policy.random,
    });
    const now = this.#clock.now();
    if (failure.retryAfterMs === undefined && now < this.#servingUntil) {
      // Backoff grown through an outage could put the next attempt after the cached token stops
      // serving: callers would then find no token although the endpoint may be back. While a token
      // serves, the next attempt comes at most halfway to the end of its serving time, so the last
      // attempts crowd the end (a few more requests, once per outage) instead of missing it.
      // A server's Retry-After is obeyed as given.
      delay = Math.min(delay, Math.max(this.#policy.baseRetryDelayMs, (this.#servingUntil - now) / 2));
    }
    if (isRetryable(failure)) this.#notBefore = now + delay;
    if (failure.code === 'throttled') {
      for (const listener of this.#listeners) {
        listener.throttled({ ...this.#describe, retryAfterMs: delay, status: failure.status ?? 429 });
      }
      recordTokenThrottle(this.#describe, failure.status ?? 429);
    }
    return delay;
  }

  #startBackgroundRefresh(): void {
    if (this.#closed) return;
    this.#backgroundAttempt.cancel();
    const flight = this.#backgroundRefresh().finally(() => {
      if (this.#inflight === flight) this.#inflight = undefined;
    });
    // Callers join this flight only once the cached token stops serving; until then nobody awaits
    // it, so its rejection must not surface as unhandled.
    flight.catch(() => {});
    this.#inflight = flight;
  }

  async #backgroundRefresh(): Promise<KeylessAccessToken> {
    const startedAt = this.#clock.now();
    try {
      let fetched = await this.#fetch();
      if (fetched.token === this.#current?.token && this.#policy.backendCachesTokens) {
        // azure-identity keeps MSAL's cache: at MSAL's refresh point it fetches anew but hands back
        // the old token once. The fresh one is in its cache now, so one more call gets it. (A
        // backend without a cache of its own asked the endpoint: asking again at once gets the same.)
        fetched = await this.#fetch();
      }
      if (fetched.token === this.#current?.token) {
        // The endpoint still hands out the token we hold (IMDS keeps one per resource for about a
        // day, for every process on the VM). Ask again around halfway to the end of its serving
        // time. The spread matters: with a fixed half, processes that got the same token converge
        // on the same instants as the gap shrinks, and a VM's processes then ask in one burst.
        const fraction = 0.3 + 0.4 * this.#policy.random();
        this.#scheduleBackground(startedAt + Math.max(1000, (this.#servingUntil - startedAt) * fraction));
        return this.#currentPromise as Promise<KeylessAccessToken>;
      }
      return this.#install(fetched, startedAt, 'refreshed');
    } catch (error) {
      if (this.#closed) throw new ClosedError('TokenProvider');
      const failure = asKeylessError(error);
      const attempt = this.#failedAttempts + 1;
      const delay = this.#noteFailure(failure, attempt);
      const now = this.#clock.now();
      // 400/401/403 are not retried: the answer will not change until someone fixes the role or
      // identity. The valid token keeps serving; after expiry a caller's request asks again.
      const nextAttempt = isRetryable(failure) ? now + delay : undefined;
      if (nextAttempt !== undefined) this.#scheduleBackground(nextAttempt);
      this.#emitFailure(failure, now - startedAt, nextAttempt);
      throw failure;
    }
  }

  #install(fetched: FetchedToken, startedAt: number, kind: 'acquired' | 'refreshed'): KeylessAccessToken {
    const now = this.#clock.now();
    const lifetime = fetched.expiresOnTimestamp - now;
    // A short-lived token still serves for most of its life; the margin never eats more than a quarter.
    const margin = Math.min(this.#policy.expiryMarginMs, Math.max(0, lifetime / 4));
    const servingUntil = fetched.expiresOnTimestamp - margin;
    let refreshAt = Math.min(
      fetched.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY,
      fetched.expiresOnTimestamp - this.#policy.refreshBeforeExpiryMs,
    );
    // Tokens shorter-lived than the refresh window refresh halfway through their serving time —
    // but no later than 3 minutes before expiry while the token has more than that left: a
    // connection authenticated with a token (Redis) must re-authenticate that long before it
    // expires, so the newer token has to be here first (Azure Cache for Redis's best practice:
    // https://learn.microsoft.com/azure/azure-cache-for-redis/cache-azure-active-directory-for-authentication).
    if (refreshAt <= now) {
      refreshAt = now + Math.max(0, (servingUntil - now) / 2);
      const latest = fetched.expiresOnTimestamp - latestRefreshBeforeExpiryMs;
      if (latest > now) refreshAt = Math.min(refreshAt, latest);
    }
    // Up to a tenth of the wait earlier, never later: processes that started together and got the
    // same token from IMDS (it hands one token to every process on the VM) would otherwise all
    // refresh in the same second, over the endpoint's 20 requests/s and 5 concurrent requests.
    refreshAt = now + spreadEarlier(refreshAt - now, this.#policy.random);
    const token = createAccessToken(fetched, Math.round(refreshAt));
    this.#current = token;
    this.#currentPromise = Promise.resolve(token);
    this.#servingUntil = servingUntil;
    this.#failedAttempts = 0;
    this.#notBefore = 0;
    this.#lastError = undefined;
    this.#scheduleBackground(refreshAt);
    const event: TokenAcquiredEvent = {
      ...this.#describe,
      latencyMs: now - startedAt,
      expiresOnTimestamp: fetched.expiresOnTimestamp,
      refreshAtTimestamp: Math.round(refreshAt),
    };
    for (const listener of this.#listeners) {
      if (kind === 'acquired') listener.acquired(event);
      else listener.refreshed(event);
    }
    recordTokenRequest(this.#describe, kind === 'acquired' ? 'acquire' : 'refresh', event.latencyMs);
    return token;
  }

  #scheduleBackground(at: number): void {
    if (!this.#closed) this.#backgroundAttempt.schedule(at);
  }

  #emitFailure(error: KeylessError, latencyMs: number, nextAttemptTimestamp: number | undefined): void {
    const event: TokenRefreshFailedEvent = {
      ...this.#describe,
      latencyMs,
      error,
      servingUntilTimestamp: this.#current ? this.#servingUntil : undefined,
      nextAttemptTimestamp,
    };
    for (const listener of this.#listeners) listener.refreshFailed(event);
    recordTokenRequest(this.#describe, this.#current ? 'refresh' : 'acquire', latencyMs, error);
  }
}

function asKeylessError(error: unknown): KeylessError {
  if (error instanceof KeylessError) return error;
  // Backends throw only KeylessError; anything else is a bug we still must not let loose untyped.
  return new ServiceUnavailableError('token request failed unexpectedly', { cause: error, retryable: true });
}

/**
 * The process-wide token cache: entries by (backend, identity, scope, tenant, claims). Providers
 * with the same configuration share entries, so a module that builds its own provider does not
 * double the endpoint's load.
 */
export class TokenCache {
  readonly #entries = new Map<string, TokenCacheEntry>();

  constructor(readonly clock: Clock) {}

  acquire(definition: EntryDefinition, listener: EntryListener): TokenCacheEntry {
    let entry = this.#entries.get(definition.key);
    if (!entry) {
      entry = new TokenCacheEntry(definition, this.clock);
      this.#entries.set(definition.key, entry);
    }
    entry.addListener(listener);
    return entry;
  }

  release(entry: TokenCacheEntry, listener: EntryListener): void {
    entry.removeListener(listener);
    if (entry.holderCount === 0) {
      entry.close();
      if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * The process-wide cache lives on `globalThis` under a registered symbol, so every installed copy
 * of @keyless/core shares it (npm often installs two: one hoisted, one nested under a connector):
 * a provider made by either copy finds the other's tokens, and the endpoint sees one request.
 * The `v1` names the shape of TokenCache/TokenCacheEntry that copies rely on; a release that
 * changes that shape must use a new name, and then the copies keep separate caches rather than
 * call each other wrongly. Injected clocks (tests, simulations) keep one cache per clock.
 */
const sharedCacheKey = Symbol.for('@keyless/core.tokenCache.v1');
const cachesByClock = new WeakMap<Clock, TokenCache>();

export function tokenCacheFor(clock: Clock): TokenCache {
  if (clock === systemClock) {
    const holder = globalThis as { [sharedCacheKey]?: TokenCache };
    holder[sharedCacheKey] ??= new TokenCache(clock);
    return holder[sharedCacheKey];
  }
  let cache = cachesByClock.get(clock);
  if (!cache) {
    cache = new TokenCache(clock);
    cachesByClock.set(clock, cache);
  }
  return cache;
}
