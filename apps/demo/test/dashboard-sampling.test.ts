import { describe, expect, it } from 'vitest';
import { type CardName, cardNames } from '../src/cards.ts';
import { ActivitySampler } from '../src/dashboard/activity-sampler.ts';
import { RingBuffer } from '../src/dashboard/ring-buffer.ts';
import { TokenTimeline } from '../src/dashboard/token-timeline.ts';

describe('RingBuffer', () => {
  it('keeps the newest items, oldest first, once it wraps around', () => {
    const buffer = new RingBuffer<number>(3);
    expect(buffer.toArray()).toEqual([]);
    expect(buffer.last()).toBeUndefined();
    buffer.push(1);
    buffer.push(2);
    expect(buffer.toArray()).toEqual([1, 2]);
    for (const value of [3, 4, 5]) buffer.push(value);
    expect(buffer.toArray()).toEqual([3, 4, 5]);
    expect(buffer.size).toBe(3);
    expect(buffer.last()).toBe(5);
    for (let value = 6; value < 100; value++) buffer.push(value);
    expect(buffer.toArray()).toEqual([97, 98, 99]);
  });

  it('refuses a capacity that is not a whole number of at least 1', () => {
    expect(() => new RingBuffer(0)).toThrow(/at least 1/);
    expect(() => new RingBuffer(2.5)).toThrow(/whole capacity/);
  });
});

describe('ActivitySampler', () => {
  const scopes = Object.fromEntries(
    cardNames.map((name) => [name, `https://${name}.example/.default`]),
  ) as Record<CardName, string>;

  it('turns running totals into per-interval deltas, per card, within its window', () => {
    const operations = Object.fromEntries(
      cardNames.map((name) => [name, { operations: 0, failures: 0 }]),
    ) as Record<CardName, { operations: number; failures: number }>;
    const identity = new Map<string, number>();
    let vault = 10;
    const sampler = new ActivitySampler({
      sources: {
        operations: (card) => ({ ...operations[card] }),
        identityRequests: (scope) => identity.get(scope) ?? 0,
        keyVaultRequests: () => vault,
      },
      scopes,
      capacity: 4,
    });
    expect(sampler.windowMs).toBe(4_000);
    sampler.sample(1_000); // the first sample has nothing before it: zeros
    operations.sql = { operations: 5, failures: 1 };
    identity.set(scopes.sql, 2);
    vault = 13;
    const second = sampler.sample(2_000);
    expect(second.cards.sql).toEqual({
      operations: 5,
      failures: 1,
      identityRequests: 2,
      keyVaultRequests: 3,
    });
    expect(second.cards.blob).toEqual({
      operations: 0,
      failures: 0,
      identityRequests: 0,
      keyVaultRequests: 3,
    });
    // A counter reset reads as no activity, not as a negative rate.
    identity.set(scopes.sql, 0);
    expect(sampler.sample(3_000).cards.sql.identityRequests).toBe(0);
    for (const at of [4_000, 5_000, 6_000]) sampler.sample(at);
    expect(sampler.samples().map((sample) => sample.at)).toEqual([3_000, 4_000, 5_000, 6_000]);
  });

  it('reports a source it cannot see as null (Azure mode has no Key Vault counter)', () => {
    const sampler = new ActivitySampler({
      sources: {
        operations: () => ({ operations: 0, failures: 0 }),
        identityRequests: () => 0,
        keyVaultRequests: () => undefined,
      },
      scopes,
    });
    sampler.sample(1);
    expect(sampler.sample(2).cards.redis.keyVaultRequests).toBeNull();
  });

  it('samples on its own timer once started, and stops', async () => {
    let operations = 0;
    const sampler = new ActivitySampler({
      sources: {
        operations: () => ({ operations: operations++, failures: 0 }),
        identityRequests: () => undefined,
        keyVaultRequests: () => undefined,
      },
      scopes,
      intervalMs: 20,
    });
    sampler.start();
    try {
      await expect.poll(() => sampler.samples().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      sampler.stop();
    }
    expect(sampler.samples().every((sample) => sample.cards.blob.identityRequests === null)).toBe(true);
  });
});

describe('TokenTimeline outages', () => {
  it('keeps outages that overlap the window, and an early end shortens the open one', () => {
    const timeline = new TokenTimeline();
    timeline.outageStarted(1_000, 61_000);
    timeline.outageEnded(30_000);
    timeline.outageStarted(100_000, 160_000);
    expect(timeline.outagesSince(20_000)).toEqual([
      { start: 1_000, end: 30_000 },
      { start: 100_000, end: 160_000 },
    ]);
    expect(timeline.outagesSince(40_000)).toEqual([{ start: 100_000, end: 160_000 }]);
  });
});
