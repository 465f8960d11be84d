import { describe, expect, it } from 'vitest';
import { BackgroundAttempt } from '../src/background-attempt.js';
import type { Clock } from '../src/clock.js';
import { ManualClock } from '../src/manual-clock.js';

function setup(clock: Clock = new ManualClock()) {
  const runs: number[] = [];
  const attempt = new BackgroundAttempt(clock, () => runs.push(clock.now()));
  return { clock, attempt, runs };
}

describe('BackgroundAttempt', () => {
  it('runs once when due, and is then neither due nor armed', async () => {
    const clock = new ManualClock();
    const { attempt, runs } = setup(clock);
    const start = clock.now();
    expect(attempt.dueAt).toBe(Number.POSITIVE_INFINITY);
    attempt.schedule(start + 1000);
    expect(attempt.armed).toBe(true);
    expect(attempt.isDue()).toBe(false);
    await clock.advance(999);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual([start + 1000]);
    expect(attempt.armed).toBe(false);
    await clock.advance(10_000);
    expect(runs).toHaveLength(1);
  });

  it('replaces the pending attempt when scheduled again, and drops it on cancel', async () => {
    const clock = new ManualClock();
    const { attempt, runs } = setup(clock);
    const start = clock.now();
    attempt.schedule(start + 1000);
    attempt.schedule(start + 3000);
    await clock.advance(2000);
    expect(runs).toEqual([]);
    await clock.advance(1000);
    expect(runs).toEqual([start + 3000]);
    attempt.schedule(start + 5000);
    attempt.cancel();
    expect(attempt.dueAt).toBe(Number.POSITIVE_INFINITY);
    expect(attempt.armed).toBe(false);
    await clock.advance(5000);
    expect(runs).toHaveLength(1);
  });

  it('re-arms a timer that fires early (a clock that clamps long delays) instead of running early', async () => {
    const manual = new ManualClock();
    // Like setTimeout above 2^31-1 ms: the timer fires after at most a capped delay.
    const clamping: Clock = {
      now: () => manual.now(),
      setTimer: (callback, delayMs) => manual.setTimer(callback, Math.min(delayMs, 1000)),
      clearTimer: (handle) => manual.clearTimer(handle),
      sleep: (delayMs) => manual.sleep(delayMs),
    };
    const { attempt, runs } = setup(clamping);
    const start = manual.now();
    attempt.schedule(start + 3500);
    await manual.advance(3499);
    expect(runs).toEqual([]);
    expect(attempt.armed).toBe(true);
    await manual.advance(1);
    expect(runs).toEqual([start + 3500]);
  });
});
