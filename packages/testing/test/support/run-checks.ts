import type { ConformanceCheck } from '../../src/index.js';

/** Runs the one check whose name contains `fragment` and returns its problems. */
export async function problemsOf(checks: readonly ConformanceCheck[], fragment: string): Promise<string[]> {
  const matching = checks.filter((check) => check.name.includes(fragment));
  if (matching.length !== 1) {
    throw new Error(`expected one check named like "${fragment}", found ${matching.length}`);
  }
  return (matching[0] as ConformanceCheck).run();
}

/** Runs every check; returns the names of those that reported a problem, with their problems. */
export async function failingChecks(checks: readonly ConformanceCheck[]): Promise<Record<string, string[]>> {
  const failing: Record<string, string[]> = {};
  for (const check of checks) {
    const problems = await check.run();
    if (problems.length > 0) failing[check.name] = problems;
  }
  return failing;
}
