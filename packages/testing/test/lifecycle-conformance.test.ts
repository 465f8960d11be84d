import { describe, expect, it } from 'vitest';
import { lifecycleChecks } from '../src/index.js';
import type { FakeDefect } from './support/fake-connector.ts';
import { fakeLifecycle } from './support/fake-tables.ts';
import { failingChecks, problemsOf } from './support/run-checks.ts';

describe('the lifecycle group', () => {
  it('passes a connector that follows every rule (the control for the cases below)', async () => {
    const checks = lifecycleChecks(fakeLifecycle());
    expect(checks).toHaveLength(7);
    expect(await failingChecks(checks)).toEqual({});
  });

  it.each<[FakeDefect, string, string]>([
    ['async-factory', 'the factory is synchronous', 'the factory returned a promise'],
    ['connects-in-factory', 'construction succeeds with nothing to reach', "the factory's promise rejected"],
    ['connects-at-construction', 'construction is lazy', 'construction opened 1 connection(s)'],
    [
      'fetches-token-at-construction',
      'construction is lazy',
      'construction asked the token provider 1 time(s)',
    ],
    ['close-not-idempotent', 'close() is idempotent', 'closing twice one after the other failed'],
    ['no-closed-check', 'use after close()', 'not ClosedError'],
    ['no-connect', 'connect() exists', 'has no connect()'],
    ['connect-hangs', 'connect() exists', 'had not settled 2000 ms after it was called'],
    [
      'connect-untyped-error',
      'connect() exists',
      'connect() rejected with Error (code ECONNREFUSED), not a keyless error',
    ],
    ['close-leaves-timer', 'close() lets a one-off script exit', '"Timeout"]'],
  ])('reports a connector with the defect %s (check "%s")', async (defect, check, problem) => {
    const problems = await problemsOf(lifecycleChecks(fakeLifecycle([defect])), check);
    expect(problems).toContainEqual(expect.stringContaining(problem));
  });
});
