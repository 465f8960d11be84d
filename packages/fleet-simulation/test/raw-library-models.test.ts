import { describe, expect, it } from 'vitest';
import { ProcessClock } from '../src/process-clock.js';
import { RawManagedIdentityCredential } from '../src/raw-managed-identity-credential.js';
import { RawSecretClient } from '../src/raw-secret-client.js';
import { createTokenCycler } from '../src/raw-token-cycler.js';
import { defaultScenario, hour, second } from '../src/scenario.js';
import { SeededRandom } from '../src/seeded-random.js';
import { SimulatedImds } from '../src/simulated-imds.js';
import { SimulatedVault } from '../src/simulated-vault.js';
import { VirtualTime } from '../src/virtual-time.js';

const start = Date.UTC(2026, 0, 5);
const scope = 'https://database.windows.net/.default';

function setup(imdsOverrides: Partial<ReturnType<typeof defaultScenario>['imds']> = {}) {
  const time = new VirtualTime(start);
  const clock = new ProcessClock(time);
  const settings = { ...defaultScenario().imds, latencyMs: [50, 50] as [number, number], ...imdsOverrides };
  const imds = new SimulatedImds('vm0', settings, time, new SeededRandom(1, 1), () => 'steady');
  const random = new SeededRandom(1, 3);
  const credential = new RawManagedIdentityCredential(imds, clock, random);
  return { time, clock, imds, random, credential };
}

const requests = (imds: SimulatedImds) => imds.snapshot().total.requests;

describe('raw ManagedIdentityCredential (MSAL managed identity, as read in its source)', () => {
  it('does not coalesce: four connections opening at once send four requests, then the cache serves', async () => {
    const { time, imds, credential } = setup();
    const tokens = Promise.all(Array.from({ length: 4 }, () => credential.getToken(scope)));
    await time.runUntil(start + second);
    expect((await tokens).every((token) => token.token.length > 0)).toBe(true);
    expect(requests(imds)).toBe(4);
    const cached = credential.getToken(scope);
    await time.runUntil(start + 2 * second);
    await cached;
    expect(requests(imds)).toBe(4);
  });

  it('past refresh_on the caller waits for the refresh and gets the old token; the next call gets the new one', async () => {
    const { time, imds, credential } = setup({ reuseTokensUntilRemainingMs: undefined });
    const first = credential.getToken(scope);
    await time.runUntil(start + second);
    const old = await first;
    expect(old.refreshAfterTimestamp).toBeDefined();
    await time.runUntil((old.refreshAfterTimestamp as number) + second);
    const during = credential.getToken(scope);
    await time.runUntil(time.now() + second);
    expect((await during).token).toBe(old.token);
    expect(requests(imds)).toBe(2);
    const after = credential.getToken(scope);
    await time.runUntil(time.now() + second);
    expect((await after).token).not.toBe(old.token);
    expect(requests(imds)).toBe(2);
  });

  it('gives up on a 429 without Retry-After after one request (no strategy retries it)', async () => {
    const { time, imds, credential } = setup();
    const six = Array.from({ length: 6 }, () =>
      credential.getToken(scope).then(
        () => 'ok',
        () => 'failed',
      ),
    );
    await time.runUntil(start + 10 * second);
    expect(await Promise.all(six)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'failed']);
    expect(requests(imds)).toBe(6);
  });

  it('waits out a 429 that carries Retry-After (defaultRetryPolicy, three retries)', async () => {
    const { time, imds, credential } = setup({ retryAfterSeconds: 1 });
    const six = Array.from({ length: 6 }, () =>
      credential.getToken(scope).then(
        () => 'ok',
        () => 'failed',
      ),
    );
    await time.runUntil(start + 10 * second);
    expect(await Promise.all(six)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(requests(imds)).toBe(7);
  });

  it('retries 410 through an IMDS upgrade (imdsRetryPolicy, from 3 s)', async () => {
    const { time, imds, credential } = setup();
    imds.setOutage(410);
    time.after(30 * second, () => imds.setOutage(undefined));
    const token = credential.getToken(scope);
    await time.runUntil(start + 5 * 60 * second);
    await expect(token).resolves.toHaveProperty('expiresOnTimestamp');
    expect(imds.snapshot().total.failed).toBeGreaterThan(1);
  });
});

describe('raw token cycler (core-rest-pipeline bearer-token policy)', () => {
  it('shares one refresh between concurrent requests and refreshes in the background later', async () => {
    const { time, imds, clock, credential } = setup({ reuseTokensUntilRemainingMs: undefined });
    const getToken = createTokenCycler((wanted) => credential.getToken(wanted), clock);
    const first = Promise.all(Array.from({ length: 10 }, () => getToken(scope)));
    await time.runUntil(start + second);
    expect(new Set((await first).map((token) => token.token)).size).toBe(1);
    expect(requests(imds)).toBe(1);
    await time.runUntil(start + 13 * hour);
    // Past refresh_on: the request is served the cached token at once, a refresh starts behind it.
    const during = await Promise.race([getToken(scope), Promise.resolve('waited')]);
    expect(during).not.toBe('waited');
    await time.runUntil(time.now() + second);
    expect(requests(imds)).toBe(2);
  });
});

describe('raw SecretClient', () => {
  it('retries a throttled GET after Retry-After, up to three times', async () => {
    const { time, clock, random, credential } = setup();
    const vaultSettings = { ...defaultScenario().vault, maxGetsPerTenSeconds: 1 };
    const vault = new SimulatedVault(vaultSettings, time, () => 'steady');
    vault.setSecret('postgres-password', 'value');
    const client = new RawSecretClient(
      createTokenCycler((wanted) => credential.getToken(wanted), clock),
      vault,
      clock,
      random,
    );
    const first = client.getSecret('postgres-password');
    const second = client.getSecret('postgres-password');
    await time.runUntil(start + 60_000);
    await expect(first).resolves.toBe('value');
    await expect(second).resolves.toBe('value');
    expect(vault.snapshot().total).toMatchObject({ requests: 3, throttled: 1 });
  });
});
