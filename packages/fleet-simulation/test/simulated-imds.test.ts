import { describe, expect, it } from 'vitest';
import { defaultScenario, hour, minute } from '../src/scenario.js';
import { SeededRandom } from '../src/seeded-random.js';
import { type ImdsAnswer, msalRefreshOn, SimulatedImds } from '../src/simulated-imds.js';
import type { Phase } from '../src/traffic-tally.js';
import { VirtualTime } from '../src/virtual-time.js';

const start = Date.UTC(2026, 0, 5);
const resource = 'https://storage.azure.com';

function setup(overrides: Partial<ReturnType<typeof defaultScenario>['imds']> = {}, phase: Phase = 'steady') {
  const time = new VirtualTime(start);
  const settings = { ...defaultScenario().imds, latencyMs: [100, 100] as [number, number], ...overrides };
  const imds = new SimulatedImds('vm0', settings, time, new SeededRandom(1, 1), () => phase);
  return { time, imds };
}

/** Sends `count` requests at the current instant and collects the statuses once answered. */
function burst(imds: SimulatedImds, count: number): Promise<ImdsAnswer[]> {
  return Promise.all(Array.from({ length: count }, () => imds.request(resource)));
}

describe('simulated IMDS limits (20 requests/s and 5 concurrent per VM, excess answered 429)', () => {
  it('lets 5 requests in at once and answers the 6th with 429', async () => {
    const { time, imds } = setup();
    const answers = burst(imds, 6);
    await time.runUntil(start + 1000);
    expect((await answers).map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429]);
    const statistics = imds.snapshot();
    expect(statistics.total).toMatchObject({ requests: 6, throttled: 1, peakConcurrent: 6 });
  });

  it('admits 20 requests within one second and throttles the 21st, then admits again', async () => {
    const { time, imds } = setup({ latencyMs: [1, 1] });
    const statuses: number[] = [];
    // 21 requests 10 ms apart: never more than one open, but 21 within a second.
    for (let index = 0; index < 21; index += 1) {
      time.schedule(start + index * 10, () => {
        void imds.request(resource).then((answer) => statuses.push(answer.status));
      });
    }
    time.schedule(start + 1001, () => {
      void imds.request(resource).then((answer) => statuses.push(answer.status));
    });
    await time.runUntil(start + 2000);
    expect(statuses.filter((status) => status === 200)).toHaveLength(21);
    expect(statuses[20]).toBe(429);
    expect(statuses.at(-1)).toBe(200);
    expect(imds.snapshot().total).toMatchObject({ requests: 22, throttled: 1, peakPerWindow: 21 });
  });

  it('hands every process the token it keeps, until less than the reuse window is left', async () => {
    const { time, imds } = setup({ reuseTokensUntilRemainingMs: 10 * minute, tokenLifetimeMs: 24 * hour });
    const first = imds.request(resource);
    await time.runUntil(start + minute);
    const second = imds.request(resource);
    await time.runUntil(start + 2 * minute);
    expect((await second).token).toBe((await first).token);
    expect((await second).expiresOn).toBe((await first).expiresOn);
    // Answers are made when they leave IMDS, 100 ms after the request.
    const expiresOn = (await first).expiresOn as number;
    await time.runUntil(expiresOn - 10 * minute - 1000);
    const stillCached = imds.request(resource);
    await time.runUntil(expiresOn - 10 * minute - 100);
    const renewed = imds.request(resource);
    await time.runUntil(time.now() + minute);
    expect((await stillCached).token).toBe((await first).token);
    expect((await renewed).token).not.toBe((await first).token);
    expect(imds.snapshot().tokensMinted).toBe(2);
  });

  it('mints a fresh token per request when reuse is off', async () => {
    const { time, imds } = setup({ reuseTokensUntilRemainingMs: undefined });
    const answers = burst(imds, 2);
    await time.runUntil(start + 1000);
    const [one, two] = await answers;
    expect(one?.token).not.toBe(two?.token);
  });

  it('answers the outage status while set, and counts those requests apart', async () => {
    const { time, imds } = setup();
    imds.setOutage(410);
    const during = imds.request(resource);
    await time.runUntil(start + 1000);
    imds.setOutage(undefined);
    const after = imds.request(resource);
    await time.runUntil(start + 2000);
    expect((await during).status).toBe(410);
    expect((await after).status).toBe(200);
    expect(imds.snapshot().total).toMatchObject({ requests: 2, failed: 1, throttled: 0 });
  });

  it('sends Retry-After only when configured to', async () => {
    const { time, imds } = setup({ retryAfterSeconds: 2 });
    const answers = burst(imds, 6);
    await time.runUntil(start + 1000);
    expect((await answers)[5]).toMatchObject({ status: 429, retryAfter: '2' });
  });

  it('counts per phase as well as in total', async () => {
    const { time, imds } = setup({}, 'restart');
    const answers = burst(imds, 3);
    await time.runUntil(start + 1000);
    await answers;
    const statistics = imds.snapshot();
    expect(statistics.byPhase.restart.requests).toBe(3);
    expect(statistics.byPhase.steady.requests).toBe(0);
  });
});

describe("MSAL's refresh hint for managed-identity tokens", () => {
  it('is half the remaining lifetime when more than two hours remain, else none', () => {
    expect(msalRefreshOn(0, 0, 24 * hour)).toBe(12 * hour);
    expect(msalRefreshOn(10, 20, 20 + 4 * hour)).toBe(10 + 2 * hour);
    expect(msalRefreshOn(0, 0, 2 * hour)).toBeUndefined();
  });
});
