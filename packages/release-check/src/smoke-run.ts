import { execa } from 'execa';
import { findLeaks } from './secret-leaks.ts';
import { userShellEnvironment } from './user-shell-environment.ts';

/** The lines consumer/smoke.mjs prints when every step worked, in order of appearance. */
export const smokeLines: readonly RegExp[] = [
  /^smoke: running on Node v\d+\.\d+\.\d+$/m,
  /^smoke: stack started: identity, keyvault, blob, sql, postgres, redis$/m,
  /^smoke: token from azure-identity: Bearer, expires in \d+ min$/m,
  /^smoke: token from msal: Bearer, expires in \d+ min$/m,
  /^smoke: blob connect\(\) resolved$/m,
  /^smoke: blob release-check\/smoke\.txt written and read back \(\d+ bytes\)$/m,
  /^smoke: key vault connect\(\) resolved$/m,
  /^smoke: secret demo-message read through a secret source \(\d+ characters\)$/m,
  /^smoke: sql connect\(\) resolved$/m,
  /^smoke: sql SELECT SUSER_SNAME\(\) = \S+$/m,
  /^smoke: postgres connect\(\) resolved$/m,
  /^smoke: postgres SELECT current_user, 6 \* 7 = \S+, 42$/m,
  /^smoke: redis connect\(\) resolved$/m,
  /^smoke: redis INCR release-check:smoke = \d+$/m,
  /^smoke: rotated the PostgreSQL and Redis passwords and restarted both servers$/m,
  /^smoke: postgres after rotation and restart: SELECT 6 \* 7 = 42$/m,
  // Redis keeps no data across a restart, so the counter starts again at 1.
  /^smoke: redis after rotation and restart: INCR release-check:smoke = 1$/m,
  /^smoke: stack stopped$/m,
];

/**
 * The smoke script runs as a user's process: the user's environment (CA bundles, proxies) with
 * `node` first on PATH, and nothing of this run's identity settings or the test runner's variables.
 */
export function smokeEnvironment(
  node: string = process.execPath,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const environment = userShellEnvironment(process.env, node);
  for (const name of Object.keys(environment)) {
    if (/^(IDENTITY_|MSI_|AZURE_|KEYLESS_|VITEST|TEST$|NODE_ENV$|NODE_OPTIONS$)/.test(name))
      delete environment[name];
  }
  return { ...environment, ...extra };
}

export interface SmokeResult {
  exitCode: number;
  /** stdout and stderr interleaved. May hold credentials when debug output is on: never print it then. */
  output: string;
}

/** `node smoke.mjs` in `projectFolder` with the given Node binary (it relaunches itself with the same one). */
export async function runSmoke(
  projectFolder: string,
  { node = process.execPath, env = {} }: { node?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<SmokeResult> {
  const result = await execa(node, ['smoke.mjs'], {
    cwd: projectFolder,
    env: smokeEnvironment(node, env),
    extendEnv: false,
    reject: false,
    all: true,
    // A bound that detects a hang; the script takes seconds.
    timeout: 180_000,
  });
  return { exitCode: result.exitCode ?? 1, output: result.all ?? '' };
}

/** The smoke lines missing from `output`, as their patterns; empty when every step printed its line. */
export function missingSmokeLines(output: string): string[] {
  return smokeLines.filter((line) => !line.test(output)).map((line) => line.source);
}

/**
 * Only the smoke script's own lines (`smoke: …`), without what the libraries printed: safe to show
 * when debug output is on, as long as the leak check passes on it (it does, or this says so).
 */
export function smokeSummary(output: string): string {
  const lines = output
    .split('\n')
    .filter((line) => line.startsWith('smoke: '))
    .join('\n');
  const leaks = findLeaks(lines);
  return leaks.length === 0 ? lines : `(the smoke's own lines hold ${leaks.join(' and ')}: not shown)`;
}
