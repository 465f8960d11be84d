import type { KeylessError, KeylessErrorCode } from '@keyless/core';
import { type Canaries, canarySightings, makeCanaries } from './canaries.js';
import { type ConformanceCheck, describeChecks, settledOutcome } from './conformance-check.js';
import { describeThrown, messageWithoutHint } from './problem-text.js';

/** A keyless error class (`ServiceUnavailableError`, …): `instanceof` recognises any copy of core. */
export type KeylessErrorClass = (abstract new (
  ...args: never[]
) => KeylessError) & {
  readonly name: string;
  readonly errorCode?: KeylessErrorCode;
};

/** What a native error must become. */
export interface ExpectedMappedError {
  class: KeylessErrorClass;
  /** Default: the class's own code. */
  code?: KeylessErrorCode;
  retryable: boolean;
  /** Words (or patterns) the hint must contain: what to grant, which option to fix. */
  hint?: readonly (string | RegExp)[];
  /** Words (or patterns) the message must contain. */
  message?: readonly (string | RegExp)[];
}

/** One native error, as the driver or SDK produces it, and what the mapping must make of it. */
export interface ErrorMappingRow {
  name: string;
  /**
   * Builds the native error. Plant `canaries.token` or `canaries.secret` where the driver would
   * carry a credential (an echoed command, a request's headers, a config property): the group
   * checks that no view of the mapped error shows them. At least one row must plant one.
   */
  native(canaries: Canaries): unknown;
  /** `'unchanged'`: the application's own error (a syntax error), returned as it is. */
  expected: ExpectedMappedError | 'unchanged';
}

export interface ErrorMappingConformanceOptions {
  /** e.g. `@keyless/postgres`. */
  name: string;
  /** The connector's mapping, with whatever context it needs bound (may return a promise). */
  map(native: unknown): unknown;
  rows: readonly ErrorMappingRow[];
}

/**
 * The error-mapping rules, without a server: each native error becomes the expected class, code,
 * retryability and hint, and no view of the mapped error (message, stack, inspect with showHidden,
 * JSON, its cause) shows a canary planted in the native error.
 */
export function errorMappingChecks(options: ErrorMappingConformanceOptions): ConformanceCheck[] {
  const checks: ConformanceCheck[] = [
    {
      name: 'the table plants a canary in at least one native error that is mapped (the leak checks can fail)',
      run: async () => {
        for (const row of options.rows) {
          if (row.expected === 'unchanged') continue;
          const canaries = makeCanaries();
          if (canarySightings(row.native(canaries), canaries).length > 0) return [];
        }
        return [
          'no mapped row plants canaries.token or canaries.secret in a view of its native error: the leak checks would pass whatever the mapping keeps',
        ];
      },
    },
  ];
  for (const row of options.rows) {
    const { expected } = row;
    if (expected === 'unchanged') {
      checks.push({
        name: `leaves ${row.name} unchanged`,
        run: async () => {
          const native = row.native(makeCanaries());
          const mapped = await settledOutcome(() => options.map(native));
          if (mapped.threw) return [`the mapping threw ${describeThrown(mapped.error)}`];
          return mapped.value === native
            ? []
            : [`the mapping replaced it with ${describeThrown(mapped.value)}`];
        },
      });
      continue;
    }
    const code = expected.code ?? expected.class.errorCode;
    checks.push({
      name: `maps ${row.name} to ${expected.class.name} (${code ?? 'its code'}, ${expected.retryable ? 'retryable' : 'not retryable'})`,
      run: async () => {
        const mapped = await settledOutcome(() => options.map(row.native(makeCanaries())));
        if (mapped.threw) return [`the mapping threw ${describeThrown(mapped.error)}`];
        return mappedErrorProblems(mapped.value, expected, code);
      },
    });
    checks.push({
      name: `no view of the mapped ${row.name} shows a canary planted in the native error`,
      run: async () => {
        const canaries = makeCanaries();
        const mapped = await settledOutcome(() => options.map(row.native(canaries)));
        const result = mapped.threw ? mapped.error : mapped.value;
        return canarySightings(result, canaries).map((sighting) => `the mapped error shows ${sighting}`);
      },
    });
  }
  return checks;
}

/** Registers the error-mapping checks as vitest tests: `describe('error mapping: <name>')`. */
export function describeErrorMappingConformance(options: ErrorMappingConformanceOptions): void {
  describeChecks(`error mapping: ${options.name}`, errorMappingChecks(options));
}

function mappedErrorProblems(
  mapped: unknown,
  expected: ExpectedMappedError,
  code: KeylessErrorCode | undefined,
): string[] {
  if (!(mapped instanceof expected.class)) {
    return [`expected ${expected.class.name}, got ${describeThrown(mapped)}`];
  }
  const problems: string[] = [];
  if (code !== undefined && mapped.code !== code) problems.push(`code is ${mapped.code}, expected ${code}`);
  if (mapped.retryable !== expected.retryable) {
    problems.push(`retryable is ${mapped.retryable}, expected ${expected.retryable}`);
  }
  for (const word of expected.hint ?? []) {
    if (!matches(mapped.hint ?? '', word)) problems.push(`the hint does not contain ${String(word)}`);
  }
  const message = messageWithoutHint(mapped);
  for (const word of expected.message ?? []) {
    if (!matches(message, word)) problems.push(`the message does not contain ${String(word)}`);
  }
  if (problems.length > 0) problems.push(`(the mapped error: ${describeThrown(mapped)})`);
  return problems;
}

function matches(text: string, word: string | RegExp): boolean {
  return typeof word === 'string' ? text.includes(word) : word.test(text);
}
