import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { LocalAzure } from '@keyless/local-azure';
import type { DoctorReport, ResourceReport } from '../src/index.js';

/** Every variable through which the libraries find an identity, or the doctor a resource. */
const managedVariables = /^(IDENTITY_|MSI_|IMDS_|AZURE_|Managed_Identity_|KEYLESS_)/;

/** The test process's environment without any identity or resource variable, plus `overrides`. */
export function cleanEnvironment(overrides: Record<string, string | undefined>): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !managedVariables.test(name)) environment[name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete environment[name];
    else environment[name] = value;
  }
  return environment;
}

/** The stack's environment for the resources named (and the identity), nothing else. */
export function stackEnvironment(
  stack: LocalAzure,
  keep: (name: string) => boolean,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const picked: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(stack.env)) {
    if (!name.startsWith('KEYLESS_') || keep(name)) picked[name] = value;
  }
  return cleanEnvironment({ ...picked, ...overrides });
}

export interface DoctorRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  report: DoctorReport | undefined;
}

/**
 * Runs the built `keyless` command (bin/keyless.js → dist/, built before `test`) as a child process,
 * as a user would, and parses its JSON report when `--json` was asked for.
 */
export function runKeylessDoctor(
  environment: Record<string, string>,
  extraArguments: string[] = [],
): Promise<DoctorRun> {
  const bin = join(process.cwd(), 'bin', 'keyless.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        bin,
        'doctor',
        ...(extraArguments.includes('--timeout') ? [] : ['--timeout', '20000']),
        ...extraArguments,
      ],
      { env: environment, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        let report: DoctorReport | undefined;
        if (extraArguments.includes('--json')) {
          try {
            report = JSON.parse(stdout) as DoctorReport;
          } catch {
            report = undefined;
          }
        }
        resolve({ exitCode, stdout, stderr, report });
      },
    );
  });
}

export function resourceOf(
  report: DoctorReport | undefined,
  resource: ResourceReport['resource'],
  mode?: ResourceReport['mode'],
): ResourceReport {
  const found = report?.resources.find(
    (each) => each.resource === resource && (mode === undefined || each.mode === mode),
  );
  if (!found) throw new Error(`the report has no ${resource}${mode ? ` (${mode})` : ''} check`);
  return found;
}

/** Every text a user could see, in one string: for the canary scan. */
export function outputOf(run: DoctorRun): string {
  return `${run.stdout}\n${run.stderr}`;
}
