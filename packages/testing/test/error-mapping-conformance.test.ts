import { describe, expect, it } from 'vitest';
import { errorMappingChecks } from '../src/index.js';
import type { FakeMappingDefect } from './support/fake-connector.ts';
import { fakeErrorMapping } from './support/fake-tables.ts';
import { failingChecks, problemsOf } from './support/run-checks.ts';

const echoedPassword = 'a refused login whose message echoes the password';
const authCommand = 'a refused login carrying the AUTH command that sent the token';

describe('the error-mapping group', () => {
  it('passes a mapping that follows every rule (the control for the cases below)', async () => {
    const checks = errorMappingChecks(fakeErrorMapping());
    expect(checks).toHaveLength(8);
    expect(await failingChecks(checks)).toEqual({});
  });

  it.each<[FakeMappingDefect, string, string]>([
    ['copies-native-message', `no view of the mapped ${echoedPassword}`, 'the canary secret in message'],
    [
      'keeps-native-error-as-cause',
      `no view of the mapped ${authCommand}`,
      'the canary token in inspect with showHidden',
    ],
    [
      'keeps-native-error-as-cause',
      `no view of the mapped ${echoedPassword}`,
      'the canary secret in cause (inspect with showHidden)',
    ],
    ['wrong-class', `maps ${authCommand}`, 'expected AuthenticationFailedError, got ServiceUnavailableError'],
    ['wrong-retryable', 'maps a refused connection', 'retryable is false, expected true'],
    ['vague-hint', `maps ${authCommand}`, 'the hint does not contain Fake Data Reader'],
    ['replaces-application-errors', "leaves the application's own error unchanged", 'replaced it with'],
  ])('reports a mapping with the defect %s (check "%s")', async (defect, check, problem) => {
    const problems = await problemsOf(errorMappingChecks(fakeErrorMapping([defect])), check);
    expect(problems).toContainEqual(expect.stringContaining(problem));
  });

  it('reports a table whose rows plant no canary: its leak checks could not fail', async () => {
    const table = fakeErrorMapping();
    const unplanted = {
      ...table,
      rows: table.rows.filter((row) => row.name !== authCommand && row.name !== echoedPassword),
    };
    const problems = await problemsOf(errorMappingChecks(unplanted), 'the table plants a canary');
    expect(problems).toHaveLength(1);
  });

  it('names a leak by canary and view, never by the leaked text', async () => {
    const failing = await failingChecks(
      errorMappingChecks(fakeErrorMapping(['copies-native-message', 'keeps-native-error-as-cause'])),
    );
    const reported = JSON.stringify(failing);
    expect(reported.includes('the canary secret in')).toBe(true);
    expect(/keyless-canary-secret-|eyJ[\w-]{10,}\.eyJ/.test(reported)).toBe(false);
  });
});
