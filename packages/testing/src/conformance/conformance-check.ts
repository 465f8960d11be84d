import { describe, expect, it } from 'vitest';

/**
 * One check of a conformance group: a name, and a run that returns what is wrong — empty when the
 * connector conforms.
 *
 * Why functions that return problems rather than bare `it()` blocks: the same check is then both
 * a test of every connector (`describeChecks` wraps it in `it()`) and something this package can
 * run against a deliberately broken fake connector, asserting *which* rule the group reported,
 * in-process and in milliseconds (a child vitest run per defect would cost seconds each on a
 * 2-core machine, and could only say "something failed").
 *
 * A problem is a sentence naming the rule and where it broke, never a value the connector
 * handled: the report of a leaked secret must not print the secret.
 */
export interface ConformanceCheck {
  name: string;
  run(): Promise<string[]>;
  /** A bound for checks that wait on the network or a child process (vitest's default otherwise). */
  timeoutMs?: number;
}

/** Registers one vitest test per check, each asserting that its check found no problem. */
export function describeChecks(title: string, checks: readonly ConformanceCheck[]): void {
  describe(title, () => {
    for (const check of checks) {
      it(
        check.name,
        async () => {
          const problems = await check.run();
          expect(problems, problemsMessage(problems)).toEqual([]);
        },
        check.timeoutMs,
      );
    }
  });
}

/**
 * The assertion's message: the problems themselves, so that every reporter (JSON, JUnit, a CI
 * summary) shows what is wrong, not only the console's diff.
 */
export function problemsMessage(problems: readonly string[]): string {
  return problems.map((problem) => `\n  - ${problem}`).join('');
}

/** What calling `action` did: returned a value, or threw. */
export type Outcome<Value> = { threw: false; value: Value } | { threw: true; error: unknown };

export function outcomeOf<Value>(action: () => Value): Outcome<Value> {
  try {
    return { threw: false, value: action() };
  } catch (error) {
    return { threw: true, error };
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** What an operation that may throw or return a promise ended with, promises awaited. */
export async function settledOutcome(action: () => unknown): Promise<Outcome<unknown>> {
  try {
    return { threw: false, value: await action() };
  } catch (error) {
    return { threw: true, error };
  }
}

/** Closes what a check created, whatever state it is in: a failing close is another check's business. */
export async function closeQuietly(connector: unknown): Promise<void> {
  const resolved = isThenable(connector)
    ? await Promise.resolve(connector).catch(() => undefined)
    : connector;
  const close = (resolved as { close?: unknown } | undefined)?.close;
  if (typeof close !== 'function') return;
  try {
    await close.call(resolved);
  } catch {
    // Reported by the lifecycle group's close() check, not here.
  }
}
