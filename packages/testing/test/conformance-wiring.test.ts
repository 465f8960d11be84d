import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageFolder } from './support/fake-tables.ts';

/**
 * The other tests of the groups call their checks directly. This one proves the layer a connector
 * actually uses — describeConnectorConformanceSuite registering each group's checks as vitest
 * tests, with the stack's hooks — turns a reported problem into a failing run: a child vitest runs
 * test/fixtures/one-defect-per-group.conformance.ts (one defect per group) and its JSON report must
 * show exactly the tests of those defects failing, every other test passing.
 */

interface AssertionResult {
  title: string;
  status: string;
  failureMessages: string[];
}

const expectedFailures = [
  'a missing `url` fails at construction with ConfigurationError naming `url` and KEYLESS_FAKE_URL',
  'use after close() is refused with ClosedError',
  'no view of the mapped a refused login carrying the AUTH command that sent the token shows a canary planted in the native error',
  'no view of the mapped a refused login whose message echoes the password shows a canary planted in the native error',
  // Once per backend.
  'never prints a token or a secret',
  'never prints a token or a secret',
];

async function runFixture(): Promise<{ exitCode: number | null; output: string; report: string }> {
  const scratch = await mkdtemp(join(tmpdir(), 'keyless-conformance-wiring-'));
  const reportFile = join(scratch, 'report.json');
  const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
  // The child is a vitest of its own, not a worker of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')));
  try {
    const { exitCode, output } = await new Promise<{ exitCode: number | null; output: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          vitest,
          'run',
          '--config',
          'test/fixtures/conformance-fixture.config.ts',
          '--reporter=json',
          `--outputFile=${reportFile}`,
        ],
        { cwd: packageFolder, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let collected = '';
      child.stdout.on('data', (chunk) => {
        collected += chunk;
      });
      child.stderr.on('data', (chunk) => {
        collected += chunk;
      });
      child.on('close', (code) => resolve({ exitCode: code, output: collected }));
    });
    return { exitCode, output, report: await readFile(reportFile, 'utf8').catch(() => '') };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

describe('the groups, as a connector switches them on', () => {
  it('fail the run on exactly the tests whose rule the fake breaks, and pass the rest', async () => {
    const { exitCode, output, report } = await runFixture();
    // Neither the child's output nor its report may carry the canaries it found (only their names).
    expect(/keyless-canary-secret-|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/.test(output + report)).toBe(
      false,
    );
    expect(exitCode).toBe(1);
    const results = (
      JSON.parse(report) as { testResults: { assertionResults: AssertionResult[] }[] }
    ).testResults.flatMap((file) => file.assertionResults);
    const failed = results.filter((result) => result.status === 'failed').map((result) => result.title);
    expect(failed.sort()).toEqual([...expectedFailures].sort());
    // Every other test ran and passed: 14 configuration, 7 lifecycle, 8 error mapping, 10 on the stack.
    expect(results.filter((result) => result.status === 'passed')).toHaveLength(39 - expectedFailures.length);
    const reasons = results.flatMap((result) => result.failureMessages).join('\n');
    expect(reasons.includes('do not name KEYLESS_FAKE_URL')).toBe(true);
    expect(reasons.includes('shows 1 token(s) the identity endpoint issued')).toBe(true);
  }, 180_000);
});
