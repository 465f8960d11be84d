import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthenticationFailedError,
  KeylessError,
  ServiceUnavailableError,
  ThrottledError,
  type TokenProvider,
} from '../src/index.js';
import { ManualClock, settle } from '../src/manual-clock.js';
import { createTokenProviderWithInternals } from '../src/testing.js';
import { FakeBackend } from './support/fake-backend.js';

const scope = 'https://storage.azure.com/.default';
const minute = 60_000;

let providers: TokenProvider[] = [];

function setup(options: { random?: () => number } = {}) {
  const clock = new ManualClock();
  const backend = new FakeBackend(() => clock.now());
  const provider = createTokenProviderWithInternals(
    { environment: {} },
    { clock, backend, random: options.random ?? (() => 0.5), baseRetryDelayMs: 1000 },
  );
  providers.push(provider);
  return { clock, backend, provider };
}

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  providers = [];
});

describe('single flight', () => {
  it('serves 1,000 concurrent cold callers with one backend request', async () => {
    const { backend, provider } = setup();
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => provider.getToken(scope)));
    expect(backend.calls).toHaveLength(1);
    expect(new Set(tokens.map((token) => token.token)).size).toBe(1);
  });

  it('keys by scope: two scopes are two requests, a repeat is none', async () => {
    const { backend, provider } = setup();
    await provider.getToken(scope);
    await provider.getToken('https://vault.azure.net/.default');
    await provider.getToken([scope]);
    expect(backend.calls.map((call) => call.request.scope)).toEqual([
      scope,
      'https://vault.azure.net/.default',
    ]);
  });

  it("shares one token between callers that name a tenant (Key Vault's challenge) and callers that don't", async () => {
    const { backend, provider } = setup();
    const [plain, withTenant] = await Promise.all([
      provider.getToken(scope),
      provider.getToken(scope, { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' }),
    ]);
    expect(withTenant.token).toBe(plain.token);
    expect(backend.calls).toHaveLength(1);
  });

  it('shares the cache between providers with the same configuration', async () => {
    const { clock, backend, provider } = setup();
    const twin = createTokenProviderWithInternals({ environment: {} }, { clock, backend });
    providers.push(twin);
    const first = await provider.getToken(scope);
    const second = await twin.getToken(scope);
    expect(second.token).toBe(first.token);
    expect(backend.calls).toHaveLength(1);
  });
});

describe('background refresh', () => {
  it('refreshes 5 minutes before expiry when the backend gives no hint, without blocking callers', async () => {
    const { clock, backend, provider } = setup({ random: () => 0 }); // 0: no refresh jitter
    backend.script({ kind: 'token', lifetimeMs: 60 * minute });
    const first = await provider.getToken(scope);
    expect(first.refreshAfterTimestamp).toBe(clock.now() + 55 * minute);

    await clock.advance(55 * minute - 1);
    expect(backend.calls).toHaveLength(1);

    backend.hold();
    await clock.advance(1);
    expect(backend.calls).toHaveLength(2); // the refresh started by itself, from the timer
    // While the refresh hangs, callers still get the valid token at once.
    const during = await Promise.race([provider.getToken(scope), settle().then(() => 'blocked')]);
    expect(during).not.toBe('blocked');
    expect((during as typeof first).token).toBe(first.token);

    backend.release();
    await settle();
    const after = await provider.getToken(scope);
    expect(after.token).not.toBe(first.token);
    expect(backend.calls).toHaveLength(2);
  });

  it("refreshes at the backend's hint when it comes first", async () => {
    const { clock, backend, provider } = setup({ random: () => 0 });
    backend.script({ kind: 'token', lifetimeMs: 24 * 60 * minute, refreshAfterMs: 12 * 60 * minute });
    await provider.getToken(scope);
    await clock.advance(12 * 60 * minute - 1);
    expect(backend.calls).toHaveLength(1);
    await clock.advance(1);
    expect(backend.calls).toHaveLength(2);
  });

  it('refreshes short-lived tokens halfway through the time they are served', async () => {
    const { clock, backend, provider } = setup({ random: () => 0 });
    backend.script({ kind: 'token', lifetimeMs: 2 * minute });
    const token = await provider.getToken(scope);
    // 2 min lifetime, 30 s margin → served for 90 s → refreshed at 45 s.
    expect(token.refreshAfterTimestamp - clock.now()).toBe(45_000);
    await clock.advance(45_000);
    expect(backend.calls).toHaveLength(2);
  });

  it('refreshes a token handed over with little time left at least 3 minutes before it expires', async () => {
    const { clock, backend, provider } = setup({ random: () => 0 });
    backend.script({ kind: 'token', lifetimeMs: 4 * minute });
    const token = await provider.getToken(scope);
    // 4 min lifetime: halfway through its serving time (105 s) would leave 2 min 15 s, under the 3
    // minutes a Redis connection needs to re-authenticate; so 60 s, which leaves 3 minutes.
    expect(token.token.length).toBeGreaterThan(0);
    expect(token.expiresOnTimestamp - token.refreshAfterTimestamp).toBeGreaterThanOrEqual(3 * minute);
    await clock.advance(60_000);
    expect(backend.calls).toHaveLength(2);
  });

  it('emits acquired and refreshed events that never carry the token', async () => {
    const { clock, backend, provider } = setup();
    const seen: string[] = [];
    provider.on('acquired', (event) => seen.push(JSON.stringify(event)));
    provider.on('refreshed', (event) => seen.push(JSON.stringify(event)));
    const token = await provider.getToken(scope);
    await clock.advance(56 * minute);
    expect(backend.calls).toHaveLength(2);
    expect(seen).toHaveLength(2);
    for (const text of seen) {
      expect(text).not.toContain(token.token);
      expect(text).toContain(scope);
      expect(text).toContain('latencyMs');
    }
  });
});

describe('failures', () => {
  it('serves the cached token through an outage until it expires, retrying with backoff', async () => {
    const { clock, backend, provider } = setup();
    const outage = new ServiceUnavailableError('endpoint down');
    backend.script({ kind: 'token', lifetimeMs: 60 * minute }, { kind: 'error', error: outage });
    const failures: (number | undefined)[] = [];
    provider.on('refresh-failed', (event) => failures.push(event.nextAttemptTimestamp));
    const token = await provider.getToken(scope);

    await clock.advance(token.refreshAfterTimestamp - clock.now());
    expect(backend.calls).toHaveLength(2);
    // Every minute for a while the cached token still serves.
    for (let elapsed = 0; elapsed < 4; elapsed += 1) {
      await clock.advance(minute);
      expect((await provider.getToken(scope)).token).toBe(token.token);
    }
    const attemptsDuringOutage = backend.calls.length - 1;
    expect(attemptsDuringOutage).toBeGreaterThan(2);
    expect(attemptsDuringOutage).toBeLessThan(20); // backoff, not a hot loop
    // Backoff: gaps never shrink while the token has long to serve (near its end they do, below).
    const servingUntil = token.expiresOnTimestamp - 30_000;
    const gaps = backend.calls
      .slice(1)
      .filter((call) => call.at < servingUntil - 60_000)
      .map((call, index, calls) => call.at - (calls[index - 1]?.at ?? call.at));
    expect(gaps.length).toBeGreaterThan(3);
    expect(gaps.slice(2).every((gap, index) => gap >= (gaps[index + 1] ?? 0))).toBe(true); // non-decreasing
    expect(failures.length).toBe(attemptsDuringOutage);

    // Past expiry minus margin, callers get the typed error rather than a dead token.
    await clock.advance(token.expiresOnTimestamp - 30_000 - clock.now());
    const late = provider.getToken(scope);
    const expectation = expect(late).rejects.toMatchObject({ code: 'unavailable' });
    await clock.advance(10 * minute);
    await expectation;
  });

  it('retries before the cached token stops serving, however far the backoff has grown', async () => {
    // The demo's fault suite shape: a 20 s token, refreshed around 7.5 s, served until 15 s, and an
    // outage that ends after several failed attempts. Plain backoff (0.5, 1, 2, 4, 8 s…) would put
    // the next attempt at or past 15 s, leaving callers without a token though the endpoint is back.
    const { clock, backend, provider } = setup({ random: () => 1 }); // 1: the longest backoff
    const outage = new ServiceUnavailableError('endpoint down');
    backend.script(
      { kind: 'token', lifetimeMs: 20_000 },
      { kind: 'error', error: outage },
      { kind: 'error', error: outage },
      { kind: 'error', error: outage },
      { kind: 'error', error: outage },
      { kind: 'token', lifetimeMs: 20_000 },
    );
    const first = await provider.getToken(scope);
    const servingUntil = first.expiresOnTimestamp - 5_000; // the margin is a quarter of 20 s
    const refreshed: number[] = [];
    provider.on('refreshed', () => refreshed.push(clock.now()));
    while (clock.now() < servingUntil - 1) {
      await clock.advance(250);
      // No caller ever waits or fails: the old token serves until the new one is in.
      const during = await Promise.race([provider.getToken(scope), settle().then(() => 'blocked')]);
      expect(during).not.toBe('blocked');
    }
    expect(backend.calls).toHaveLength(6);
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]).toBeLessThan(servingUntil);
    expect((await provider.getToken(scope)).token).not.toBe(first.token);
  });

  it('obeys Retry-After from a throttled refresh', async () => {
    const { clock, backend, provider } = setup();
    backend.script(
      { kind: 'token', lifetimeMs: 60 * minute },
      { kind: 'error', error: new ThrottledError('429', { status: 429, retryAfterMs: 120_000 }) },
      { kind: 'token', lifetimeMs: 60 * minute },
    );
    const throttled: number[] = [];
    provider.on('throttled', (event) => throttled.push(event.retryAfterMs));
    const first = await provider.getToken(scope);
    await clock.advance(first.refreshAfterTimestamp - clock.now());
    expect(backend.calls).toHaveLength(2);
    await clock.advance(119_999);
    await provider.getToken(scope);
    expect(backend.calls).toHaveLength(2); // nobody asked before the server said so
    await clock.advance(2000); // Retry-After plus at most 1 s of jitter
    expect(backend.calls).toHaveLength(3);
    expect(backend.calls[2]?.at).toBeGreaterThanOrEqual((backend.calls[1]?.at ?? 0) + 120_000);
    expect(throttled[0]).toBeGreaterThanOrEqual(120_000);
  });

  it('makes cold callers wait out a short Retry-After, then succeed', async () => {
    const { clock, backend, provider } = setup();
    backend.script(
      { kind: 'error', error: new ThrottledError('429', { status: 429, retryAfterMs: 3000 }) },
      { kind: 'token', lifetimeMs: 60 * minute },
    );
    const pending = provider.getToken(scope);
    await clock.advance(2999);
    expect(backend.calls).toHaveLength(1);
    await clock.advance(2000);
    await expect(pending).resolves.toHaveProperty('expiresOnTimestamp');
    expect(backend.calls).toHaveLength(2);
  });

  it('never retries 403: one attempt, the cached token keeps serving, then the error surfaces', async () => {
    const { clock, backend, provider } = setup();
    const refused = new AuthenticationFailedError('refused', { status: 403 });
    backend.script({ kind: 'token', lifetimeMs: 60 * minute }, { kind: 'error', error: refused });
    const token = await provider.getToken(scope);
    await clock.advance(55 * minute);
    expect(backend.calls).toHaveLength(2);
    await clock.advance(4 * minute);
    expect((await provider.getToken(scope)).token).toBe(token.token);
    expect(backend.calls).toHaveLength(2);
    await clock.advance(minute);
    await expect(provider.getToken(scope)).rejects.toBe(refused);
    expect(backend.calls).toHaveLength(3); // the caller's own request, not a retry loop
  });

  it('does not retry a cold 400 or 401 either', async () => {
    for (const status of [400, 401]) {
      const { backend, provider } = setup();
      backend.script({ kind: 'error', error: new AuthenticationFailedError('no', { status }) });
      await expect(provider.getToken(scope)).rejects.toMatchObject({ code: 'authentication-failed', status });
      expect(backend.calls).toHaveLength(1);
    }
  });

  it('retries 410 (IMDS upgrading) for at least 70 seconds', async () => {
    const { clock, backend, provider } = setup({ random: () => 0 });
    backend.script({ kind: 'error', error: new ServiceUnavailableError('upgrading', { status: 410 }) });
    const pending = provider.getToken(scope);
    const outcome = expect(pending).rejects.toMatchObject({ status: 410 });
    await clock.advance(10 * minute);
    await outcome;
    const first = backend.calls[0]?.at ?? 0;
    const last = backend.calls.at(-1)?.at ?? 0;
    expect(last - first).toBeGreaterThanOrEqual(70_000);
    expect(backend.calls.length).toBeGreaterThan(4); // more than the usual attempt limit
  });

  it('gives up a cold request after the attempt limit for 5xx', async () => {
    const { clock, backend, provider } = setup();
    backend.script({ kind: 'error', error: new ServiceUnavailableError('boom', { status: 503 }) });
    const outcome = expect(provider.getToken(scope)).rejects.toBeInstanceOf(KeylessError);
    await clock.advance(5 * minute);
    await outcome;
    expect(backend.calls).toHaveLength(4);
  });
});

describe('lifecycle and hygiene', () => {
  it('close() clears every timer and refuses further use', async () => {
    const { clock, provider } = setup();
    await provider.getToken(scope);
    await provider.getToken('https://vault.azure.net/.default');
    expect(clock.pendingTimers).toBe(2);
    await provider.close();
    expect(clock.pendingTimers).toBe(0);
    await expect(provider.getToken(scope)).rejects.toMatchObject({ code: 'closed' });
    await provider.close(); // idempotent
  });

  it('hands out tokens that print redacted under JSON.stringify and util.inspect', async () => {
    const { provider } = setup();
    const token = await provider.getToken(scope);
    expect(token.token).toMatch(/^eyJ/);
    for (const text of [
      JSON.stringify(token),
      inspect(token),
      inspect(token, { showHidden: true, depth: 5 }),
      JSON.stringify({ ...token }),
      String(Object.values(token)),
      inspect(provider),
      JSON.stringify(provider),
    ]) {
      expect(text).not.toContain(token.token);
    }
    expect(JSON.stringify(token)).toContain('[REDACTED]');
  });

  it('rejects more than one scope with a configuration error', async () => {
    const { provider } = setup();
    await expect(provider.getToken([scope, 'https://vault.azure.net/.default'])).rejects.toMatchObject({
      code: 'configuration',
    });
    await expect(provider.getToken('')).rejects.toMatchObject({ code: 'configuration' });
  });

  it('lets one caller abort its wait without cancelling the shared request', async () => {
    const { backend, provider } = setup();
    backend.hold();
    const controller = new AbortController();
    const aborted = provider.getToken(scope, { abortSignal: controller.signal });
    const patient = provider.getToken(scope);
    controller.abort();
    await expect(aborted).rejects.toBeDefined();
    backend.release();
    await expect(patient).resolves.toHaveProperty('tokenType', 'Bearer');
    expect(backend.calls).toHaveLength(1);
  });
});
