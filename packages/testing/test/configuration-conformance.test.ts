import { describe, expect, it } from 'vitest';
import { configurationChecks } from '../src/index.js';
import type { FakeDefect } from './support/fake-connector.ts';
import { fakeConfiguration } from './support/fake-tables.ts';
import { failingChecks, problemsOf } from './support/run-checks.ts';

describe('the configuration group', () => {
  it('passes a connector that follows every rule (the control for the cases below)', async () => {
    const checks = configurationChecks(fakeConfiguration());
    expect(checks.length).toBeGreaterThanOrEqual(10);
    expect(await failingChecks(checks)).toEqual({});
  });

  it.each<[FakeDefect, string, string]>([
    [
      'missing-error-names-only-the-option',
      'a missing `url` fails at construction',
      'do not name KEYLESS_FAKE_URL',
    ],
    [
      'missing-error-is-a-plain-error',
      'a missing `url` fails at construction',
      'expected a ConfigurationError, got Error',
    ],
    ['ignores-variable', 'reads `url` from KEYLESS_FAKE_URL', 'construction failed'],
    ['variable-wins-over-option', 'the option `url` wins over KEYLESS_FAKE_URL', 'the variable was read'],
    [
      'variable-wins-over-option',
      'a malformed `port` is refused',
      'the variable was read instead of the option',
    ],
    [
      'malformed-error-hides-its-source',
      'a malformed KEYLESS_FAKE_PORT is refused',
      'message does not name KEYLESS_FAKE_PORT',
    ],
    ['accepts-weakened-tls', 'refuses `tls.rejectUnauthorized`', 'was accepted at construction'],
    ['tls-error-names-no-path', 'refuses `tls.servername`', 'do not name `tls.servername`'],
    [
      'ignores-tls-verification-variable',
      'refuses NODE_TLS_REJECT_UNAUTHORIZED=0',
      'was accepted at construction',
    ],
  ])('reports a connector with the defect %s (check "%s")', async (defect, check, problem) => {
    const problems = await problemsOf(configurationChecks(fakeConfiguration([defect])), check);
    expect(problems).toContainEqual(expect.stringContaining(problem));
  });

  it('reports a factory that returns a promise, even where it does not throw', async () => {
    const table = fakeConfiguration();
    const asynchronous = {
      ...table,
      create: async (options: Parameters<typeof table.create>[0]) => table.create(options),
    };
    const problems = await problemsOf(configurationChecks(asynchronous), 'constructs from the valid options');
    expect(problems).toEqual(['create() returned a promise: construction must be synchronous']);
  });

  it('reports tables that would let a rule go unchecked', async () => {
    const table = fakeConfiguration();
    const empty = {
      ...table,
      settings: table.settings.map(({ required: _required, malformed: _malformed, ...setting }) => setting),
      tlsWeakening: [],
    };
    const problems = await problemsOf(configurationChecks(empty), 'the tables cover every rule');
    expect(problems).toHaveLength(3);
  });

  it('leaves the environment as it found it', async () => {
    process.env.KEYLESS_FAKE_PORT = '1234';
    try {
      await failingChecks(configurationChecks(fakeConfiguration()));
      expect(process.env.KEYLESS_FAKE_PORT).toBe('1234');
      expect(process.env.KEYLESS_FAKE_URL).toBeUndefined();
      expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
    } finally {
      delete process.env.KEYLESS_FAKE_PORT;
    }
  });
});
