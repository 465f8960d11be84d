import { describe, expect, it } from 'vitest';
import { ProcessClock } from '../src/process-clock.js';
import { VirtualTime } from '../src/virtual-time.js';

const start = Date.UTC(2026, 0, 5);

describe('virtual time', () => {
  it('fires events in time order and stops at the end', async () => {
    const time = new VirtualTime(start);
    const fired: number[] = [];
    for (const delay of [300, 100, 200, 5000]) time.after(delay, () => fired.push(time.now() - start));
    await time.runUntil(start + 1000);
    expect(fired).toEqual([100, 200, 300]);
    expect(time.now()).toBe(start + 1000);
    await time.runUntil(start + 10_000);
    expect(fired).toEqual([100, 200, 300, 5000]);
  });

  it('handles an awaited answer at the instant it arrives, before time moves on', async () => {
    const time = new VirtualTime(start);
    const seen: number[] = [];
    const answerAfter = (delay: number) => new Promise<void>((resolve) => time.after(delay, resolve));
    time.after(0, async () => {
      await answerAfter(50);
      // A chain of awaits after the answer still runs at 50 ms, not at the next event's time.
      for (let step = 0; step < 100; step += 1) await Promise.resolve();
      seen.push(time.now() - start);
    });
    time.after(1000, () => seen.push(time.now() - start));
    await time.runUntil(start + 2000);
    expect(seen).toEqual([50, 1000]);
  });

  it('does not fire cancelled events', async () => {
    const time = new VirtualTime(start);
    let fired = 0;
    const event = time.after(10, () => {
      fired += 1;
    });
    time.cancel(event);
    await time.runUntil(start + 100);
    expect(fired).toBe(0);
    expect(time.firedEvents).toBe(0);
  });
});

describe('process clock', () => {
  it('is a Clock over the shared time whose timers and sleeps die with the process', async () => {
    const time = new VirtualTime(start);
    const clock = new ProcessClock(time);
    const woke: string[] = [];
    clock.setTimer(() => woke.push('timer'), 100);
    void clock.sleep(200).then(() => woke.push('sleep'));
    const cleared = clock.setTimer(() => woke.push('cleared'), 50);
    clock.clearTimer(cleared);
    await time.runUntil(start + 150);
    expect(woke).toEqual(['timer']);
    clock.stop();
    await time.runUntil(start + 1000);
    expect(woke).toEqual(['timer']);
    expect(clock.setTimer(() => woke.push('late'), 1)).toBeUndefined();
  });
});
