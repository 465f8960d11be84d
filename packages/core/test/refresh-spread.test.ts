import { afterEach, describe, expect, it } from 'vitest';
import type { TokenProvider } from '../src/index.js';
import { ManualClock } from '../src/manual-clock.js';
import { createTokenProviderWithInternals } from '../src/testing.js';
import { FakeBackend } from './support/fake-backend.js';

// Why these exist: the fleet simulation (packages/fleet-simulation, docs/scale.md) showed ten
// processes on a VM, all handed the same token by IMDS, refreshing in the same second and then
// re-asking in lockstep, over IMDS's 20 requests/s and 5 concurrent requests.

const scope = 'https://storage.azure.com/.default';
const minute = 60_000;
const hour = 60 * minute;

let providers: TokenProvider[] = [];

function setup(random: () => number, backendName: 'msal' | 'azure-identity' = 'msal') {
  const clock = new ManualClock();
  const backend = new FakeBackend(() => clock.now(), backendName);
  const provider = createTokenProviderWithInternals({ environment: {} }, { clock, backend, random });
  providers.push(provider);
  return { clock, backend, provider };
}

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  providers = [];
});

describe('refresh spread', () => {
  it.each([
    [0, 55 * minute],
    [0.5, 52.25 * minute],
    [1, 49.5 * minute],
  ])(
    'with random %s starts the refresh up to a tenth of the wait early, never late',
    async (random, wait) => {
      const { clock, backend, provider } = setup(() => random);
      backend.script({ kind: 'token', lifetimeMs: hour });
      const start = clock.now();
      const token = await provider.getToken(scope);
      expect(token.refreshAfterTimestamp).toBe(start + wait);
      await clock.advance(wait - 1);
      expect(backend.calls).toHaveLength(1);
      await clock.advance(1);
      expect(backend.calls).toHaveLength(2);
    },
  );

  it('spreads the first refresh of processes that got the same token at the same instant', async () => {
    const refreshTimes: number[] = [];
    for (let index = 0; index < 10; index += 1) {
      const { backend, provider } = setup(() => (index + 0.5) / 10);
      backend.script({ kind: 'token', lifetimeMs: 24 * hour, refreshAfterMs: 12 * hour });
      refreshTimes.push((await provider.getToken(scope)).refreshAfterTimestamp);
    }
    const start = new ManualClock().now();
    expect(new Set(refreshTimes).size).toBe(10);
    expect(Math.max(...refreshTimes)).toBeLessThanOrEqual(start + 12 * hour);
    // Spread over most of the 72 minutes a tenth of 12 hours allows, instead of one second.
    expect(Math.max(...refreshTimes) - Math.min(...refreshTimes)).toBeGreaterThan(60 * minute);
  });

  it('asks an msal backend that hands back the token it holds once, then again later at a random point', async () => {
    for (const [random, fraction] of [
      [0, 0.3],
      [1, 0.7],
    ] as const) {
      const { clock, backend, provider } = setup(() => random);
      backend.script(
        { kind: 'token', lifetimeMs: 24 * hour, refreshAfterMs: 12 * hour },
        { kind: 'same', refreshAfterMs: 6 * hour },
      );
      const token = await provider.getToken(scope);
      await clock.advance(token.refreshAfterTimestamp - clock.now());
      expect(backend.calls).toHaveLength(2); // one request: asking at once would get the same token
      const askedAt = backend.calls[1]?.at as number;
      const servingUntil = token.expiresOnTimestamp - 30_000;
      const next = askedAt + (servingUntil - askedAt) * fraction;
      await clock.advance(next - clock.now() - 1);
      expect(backend.calls).toHaveLength(2);
      await clock.advance(1);
      expect(backend.calls).toHaveLength(3);
      expect((await provider.getToken(scope)).token).toBe(token.token);
    }
  });

  it('asks an azure-identity backend again at once (MSAL hands back the old token once)', async () => {
    const { clock, backend, provider } = setup(() => 0, 'azure-identity');
    backend.script(
      { kind: 'token', lifetimeMs: 24 * hour, refreshAfterMs: 12 * hour },
      { kind: 'same' },
      { kind: 'token', lifetimeMs: 24 * hour, refreshAfterMs: 12 * hour },
    );
    const token = await provider.getToken(scope);
    await clock.advance(12 * hour);
    expect(backend.calls).toHaveLength(3);
    expect(backend.calls[2]?.at).toBe(backend.calls[1]?.at);
    expect((await provider.getToken(scope)).token).not.toBe(token.token);
  });
});
