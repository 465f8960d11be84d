// The first login's password is fetched when the pool is first used, and that login takes the very
// same fetch — its value or its failure — so a cold start overlaps the connect with the fetch without
// asking the vault or the identity endpoint twice (src/early-password.ts, issue 11).
import type { PasswordBinding } from '@keyless/keyvault/internal';
import { describe, expect, it } from 'vitest';
import { EarlyPassword, earlyPasswordWindowMs } from '../src/early-password.js';

/** A binding that answers each get() with the next of `answers` and counts the calls. */
function countingBinding(answers: (() => Promise<string>)[]) {
  const counter = { calls: 0 };
  const binding = {
    get: () => {
      const answer = answers[counter.calls] ?? (() => Promise.resolve('later'));
      counter.calls += 1;
      return answer();
    },
  } as unknown as PasswordBinding;
  return { binding, counter };
}

describe('EarlyPassword', () => {
  it('the first login takes the early fetch; later logins ask the binding', async () => {
    const { binding, counter } = countingBinding([
      () => Promise.resolve('early'),
      () => Promise.resolve('second'),
    ]);
    const early = new EarlyPassword(binding, () => 0);
    early.start();
    expect(counter.calls).toBe(1);
    await expect(early.get()).resolves.toBe('early');
    expect(counter.calls).toBe(1);
    await expect(early.get()).resolves.toBe('second');
    expect(counter.calls).toBe(2);
  });

  it('a failed early fetch goes to the first login only, without a second request for it', async () => {
    const failure = new Error('vault refused');
    const { binding, counter } = countingBinding([() => Promise.reject(failure)]);
    const early = new EarlyPassword(binding, () => 0);
    early.start();
    // Nobody has asked yet: the rejection must not surface as unhandled meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    await expect(early.get()).rejects.toBe(failure);
    expect(counter.calls).toBe(1);
  });

  it('an early fetch older than the window is left alone: the login asks afresh', async () => {
    let now = 0;
    const { binding, counter } = countingBinding([
      () => Promise.resolve('stale'),
      () => Promise.resolve('fresh'),
    ]);
    const early = new EarlyPassword(binding, () => now);
    early.start();
    now = earlyPasswordWindowMs;
    await expect(early.get()).resolves.toBe('fresh');
    expect(counter.calls).toBe(2);
  });

  it('without start(), every login asks the binding', async () => {
    const { binding, counter } = countingBinding([() => Promise.resolve('one')]);
    const early = new EarlyPassword(binding, () => 0);
    await expect(early.get()).resolves.toBe('one');
    expect(counter.calls).toBe(1);
  });
});
