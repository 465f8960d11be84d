import { inspect } from 'node:util';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  ServiceUnavailableError,
  ThrottledError,
} from '@keyless/core';
import { ManualClock, settle } from '@keyless/core/testing';
import { describe, expect, it } from 'vitest';
import type { SecretChangeEvent, SecretRefreshFailedEvent } from '../src/secret-events.js';
import { KeylessSecretSource } from '../src/secret-source.js';
import { FakeFetcher } from './support/fake-fetcher.js';

const minute = 60_000;

function setup(
  options: {
    refreshIntervalMs?: number;
    version?: string;
    random?: () => number;
    refreshJitterFraction?: number;
  } = {},
) {
  const clock = new ManualClock();
  const fetcher = new FakeFetcher();
  const source = new KeylessSecretSource({
    name: 'db-password',
    version: options.version,
    refreshIntervalMs: options.refreshIntervalMs ?? 5 * minute,
    fetch: fetcher.fetch,
    clock,
    random: options.random ?? (() => 0.5),
    // Exact refresh times unless a test is about the spread.
    refreshJitterFraction: options.refreshJitterFraction ?? 0,
    baseRetryDelayMs: 1000,
    maxRetryDelayMs: minute,
  });
  const changes: SecretChangeEvent[] = [];
  const failures: SecretRefreshFailedEvent[] = [];
  source.on('change', (event) => changes.push(event));
  source.on('refresh-failed', (event) => failures.push(event));
  return { clock, fetcher, source, changes, failures };
}

describe('secret source timing (fake clock, fake fetcher)', () => {
  it('turns concurrent cold callers into one fetch and serves the cache without fetching', async () => {
    const { fetcher, source, changes } = setup();
    fetcher.hold();
    const callers = Array.from({ length: 1000 }, () => source.get());
    expect(fetcher.calls).toBe(1);
    fetcher.release();
    const values = await Promise.all(callers);
    expect(new Set(values)).toEqual(new Set(['fake-value-one']));
    for (let index = 0; index < 100; index += 1) await source.get();
    expect(fetcher.calls).toBe(1);
    expect(source.version).toBe('version1');
    expect(changes).toEqual([{ name: 'db-password', previousVersion: undefined, version: 'version1' }]);
  });

  it('refreshes in the background after the interval: callers get the cached value at once', async () => {
    const { clock, fetcher, source, changes } = setup();
    await source.get();
    await clock.advance(5 * minute - 1);
    expect(fetcher.calls).toBe(1);
    fetcher.rotate('fake-value-two', 'version2');
    fetcher.hold();
    await clock.advance(1);
    expect(fetcher.calls).toBe(2);
    // The refresh is still pending, and callers do not wait for it.
    await expect(source.get()).resolves.toBe('fake-value-one');
    expect(fetcher.calls).toBe(2);
    fetcher.release();
    await settle();
    await expect(source.get()).resolves.toBe('fake-value-two');
    expect(changes.at(-1)).toEqual({ name: 'db-password', previousVersion: 'version1', version: 'version2' });
    expect(Object.keys(changes.at(-1) ?? {}).sort()).toEqual(['name', 'previousVersion', 'version']);
    // The next refresh is one interval after this one.
    await clock.advance(5 * minute);
    expect(fetcher.calls).toBe(3);
  });

  it('spreads background refreshes up to a tenth of the interval early, never late', async () => {
    for (const [random, expectedAt] of [
      [0, 5 * minute],
      [0.5, 4.75 * minute],
      [0.999, 4.5 * minute + 30],
    ] as const) {
      const { clock, fetcher, source } = setup({ random: () => random, refreshJitterFraction: 0.1 });
      await source.get();
      await clock.advance(expectedAt - 1);
      expect(fetcher.calls).toBe(1);
      await clock.advance(1);
      expect(fetcher.calls).toBe(2);
    }
  });

  it('a refresh that finds the same version emits no change', async () => {
    const { clock, fetcher, source, changes } = setup();
    await source.get();
    await clock.advance(5 * minute);
    expect(fetcher.calls).toBe(2);
    expect(changes).toHaveLength(1);
  });

  it('a caller nudges a refresh whose timer is late', async () => {
    const { clock, fetcher, source } = setup();
    await source.get();
    clock.jump(5 * minute);
    await expect(source.get()).resolves.toBe('fake-value-one');
    expect(fetcher.calls).toBe(2);
  });

  it('after a value: 5xx is retried with exponential backoff and jitter, serving the last good value', async () => {
    const { clock, fetcher, source, failures } = setup();
    await source.get();
    fetcher.failNext(new ServiceUnavailableError('Key Vault answered 503', { status: 503 }), 3);
    await clock.advance(5 * minute);
    expect(fetcher.calls).toBe(2);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      name: 'db-password',
      servingLastGood: true,
      error: { code: 'unavailable' },
    });
    await expect(source.get()).resolves.toBe('fake-value-one');
    // Equal jitter with random 0.5: attempt n waits 0.75 × min(60 s, 1 s × 2^(n-1)).
    await clock.advance(749);
    expect(fetcher.calls).toBe(2);
    await clock.advance(1);
    expect(fetcher.calls).toBe(3);
    await clock.advance(1499);
    expect(fetcher.calls).toBe(3);
    await clock.advance(1);
    expect(fetcher.calls).toBe(4);
    await clock.advance(2999);
    expect(fetcher.calls).toBe(4);
    fetcher.rotate('fake-value-two', 'version2');
    await clock.advance(1);
    expect(fetcher.calls).toBe(5);
    await expect(source.get()).resolves.toBe('fake-value-two');
    expect(failures).toHaveLength(3);
    // Recovered: back to the regular interval.
    await clock.advance(5 * minute - 1);
    expect(fetcher.calls).toBe(5);
  });

  it('jitter spreads the retry between half and all of the backoff step', async () => {
    for (const [random, expectedDelay] of [
      [0, 500],
      [1, 1000],
    ] as const) {
      const { clock, fetcher, source } = setup({ random: () => random });
      await source.get();
      fetcher.failNext(new ServiceUnavailableError('down'));
      await clock.advance(5 * minute);
      await clock.advance(expectedDelay - 1);
      expect(fetcher.calls).toBe(2);
      await clock.advance(1);
      expect(fetcher.calls).toBe(3);
    }
  });

  it('honours Retry-After after a value, plus a little jitter', async () => {
    const { clock, fetcher, source, failures } = setup();
    await source.get();
    fetcher.failNext(new ThrottledError('throttled', { status: 429, retryAfterMs: 5000 }));
    await clock.advance(5 * minute);
    expect(failures[0]).toMatchObject({
      servingLastGood: true,
      error: { code: 'throttled', retryAfterMs: 5000 },
    });
    // 5000 + 0.5 × min(1000, 10% of 5000)
    await clock.advance(5249);
    expect(fetcher.calls).toBe(2);
    await clock.advance(1);
    expect(fetcher.calls).toBe(3);
  });

  it.each([
    ['401', new AuthenticationFailedError('token refused', { status: 401 })],
    ['403', new AuthorizationError('no role', { status: 403 })],
    ['404', new ConfigurationError('no such secret', { status: 404 })],
  ])('does not retry %s: a cold caller gets the error after one request', async (_status, error) => {
    const { clock, fetcher, source, failures } = setup();
    fetcher.failNext(error);
    await expect(source.get()).rejects.toBe(error);
    expect(fetcher.calls).toBe(1);
    expect(failures).toEqual([{ name: 'db-password', error, servingLastGood: false }]);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10 * minute);
    expect(fetcher.calls).toBe(1);
  });

  it.each([
    ['401', new AuthenticationFailedError('token refused', { status: 401 })],
    ['403', new AuthorizationError('no role', { status: 403 })],
    ['404', new ConfigurationError('no such secret', { status: 404 })],
  ])(
    'does not retry %s in the background: the next attempt is the next regular refresh',
    async (_status, error) => {
      const { clock, fetcher, source, failures } = setup();
      await source.get();
      fetcher.failNext(error);
      await clock.advance(5 * minute);
      expect(fetcher.calls).toBe(2);
      expect(failures).toEqual([{ name: 'db-password', error, servingLastGood: true }]);
      await clock.advance(5 * minute - 1);
      expect(fetcher.calls).toBe(2);
      await expect(source.get()).resolves.toBe('fake-value-one');
      await clock.advance(1);
      expect(fetcher.calls).toBe(3);
    },
  );

  it('before any value: 429 fails fast with retryAfterMs, and nobody asks again before it has passed', async () => {
    const { clock, fetcher, source } = setup();
    const throttled = new ThrottledError('throttled', { status: 429, retryAfterMs: 2000 });
    fetcher.failNext(throttled);
    await expect(source.get()).rejects.toBe(throttled);
    await clock.advance(1500);
    await expect(source.get()).rejects.toMatchObject({ code: 'throttled', retryAfterMs: 500, status: 429 });
    expect(fetcher.calls).toBe(1);
    await clock.advance(500);
    await expect(source.get()).resolves.toBe('fake-value-one');
    expect(fetcher.calls).toBe(2);
  });

  it('before any value: 503 without Retry-After fails fast and the next caller asks again', async () => {
    const { fetcher, source } = setup();
    fetcher.failNext(new ServiceUnavailableError('Key Vault answered 503', { status: 503 }));
    await expect(source.get()).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(source.get()).resolves.toBe('fake-value-one');
    expect(fetcher.calls).toBe(2);
  });

  it('invalidate(): the stale value is not served; the next callers share one fetch', async () => {
    const { fetcher, source, changes } = setup();
    await source.get();
    fetcher.rotate('fake-value-two', 'version2');
    source.invalidate();
    expect(source.version).toBeUndefined();
    fetcher.hold();
    const callers = Array.from({ length: 100 }, () => source.get());
    expect(fetcher.calls).toBe(2);
    fetcher.release();
    expect(new Set(await Promise.all(callers))).toEqual(new Set(['fake-value-two']));
    expect(source.version).toBe('version2');
    expect(changes.at(-1)).toEqual({ name: 'db-password', previousVersion: 'version1', version: 'version2' });
  });

  it('invalidate() during a background refresh starts a fresh fetch instead of joining the old one', async () => {
    const { clock, fetcher, source } = setup();
    await source.get();
    fetcher.hold();
    await clock.advance(5 * minute);
    expect(fetcher.heldRequests).toBe(1);
    source.invalidate();
    const next = source.get();
    expect(fetcher.calls).toBe(3);
    fetcher.rotate('fake-value-two', 'version2');
    fetcher.release();
    await expect(next).resolves.toBe('fake-value-two');
  });

  it('invalidate() then a failing fetch: the caller gets the error, not the stale value', async () => {
    const { fetcher, source, failures } = setup();
    await source.get();
    source.invalidate();
    fetcher.failNext(new ServiceUnavailableError('down'));
    await expect(source.get()).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(failures.at(-1)?.servingLastGood).toBe(false);
    await expect(source.get()).resolves.toBe('fake-value-one');
  });

  it('a pinned version is fetched once and never refreshed', async () => {
    const { clock, fetcher, source } = setup({ version: 'version1' });
    await source.get();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(60 * minute);
    await source.get();
    expect(fetcher.calls).toBe(1);
  });

  it('close() clears timers, refuses get() with ClosedError, and a fetch finishing later schedules nothing', async () => {
    const { clock, fetcher, source, changes } = setup();
    await source.get();
    expect(clock.pendingTimers).toBe(1);
    fetcher.hold();
    await clock.advance(5 * minute);
    source.close();
    source.close();
    expect(clock.pendingTimers).toBe(0);
    fetcher.rotate('fake-value-two', 'version2');
    fetcher.release();
    await settle();
    expect(clock.pendingTimers).toBe(0);
    expect(changes).toHaveLength(1);
    await expect(source.get()).rejects.toMatchObject({ code: 'closed' });
    await clock.advance(60 * minute);
    expect(fetcher.calls).toBe(2);
  });

  it('a throwing listener does not break delivery', async () => {
    const { fetcher, source } = setup();
    source.on('change', () => {
      throw new Error('listener bug');
    });
    await expect(source.get()).resolves.toBe(fetcher.value);
  });

  it('prints name and version only', async () => {
    const { source } = setup();
    await source.get();
    const views = [inspect(source), inspect(source, { showHidden: true, depth: 8 }), JSON.stringify(source)];
    for (const view of views) {
      expect(view).toContain('db-password');
      expect(view).toContain('version1');
      expect(view).not.toContain('fake-value-one');
    }
    expect(JSON.parse(JSON.stringify(source))).toEqual({
      name: 'db-password',
      version: 'version1',
      state: 'cached',
    });
  });
});
