import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { repositoryRoot } from '../../src/workspace-packages.ts';

type Environment = Record<string, string | undefined>;

const rootManifest = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
  packageManager: string;
  scripts: Record<string, string>;
};

/**
 * The flags the root `release:check` script gives turbo (e.g. `--env-mode=loose`), so the probe
 * below runs under the same turbo settings as the real release check.
 */
export function rootTurboFlags(script = 'release:check'): string[] {
  const command = rootManifest.scripts[script] ?? '';
  const turboPart = command.split('&&')[0] ?? '';
  return turboPart
    .trim()
    .split(/\s+/)
    .filter((token) => token.startsWith('--') && !token.startsWith('--filter'));
}

/** The environment settings of the root turbo.json that apply to the release check's test task. */
function turboConfiguration(): Record<string, unknown> {
  const root = JSON.parse(readFileSync(join(repositoryRoot, 'turbo.json'), 'utf8')) as {
    tasks: Record<string, { env?: string[]; passThroughEnv?: string[] }>;
    [key: string]: unknown;
  };
  const task = root.tasks['@keyless/release-check#test'] ?? root.tasks.test ?? {};
  const global = Object.fromEntries(
    Object.entries(root).filter(([key]) => ['globalEnv', 'globalPassThroughEnv', 'envMode'].includes(key)),
  );
  return {
    ...global,
    tasks: {
      probe: {
        cache: false,
        ...(task.env ? { env: task.env } : {}),
        ...(task.passThroughEnv ? { passThroughEnv: task.passThroughEnv } : {}),
      },
    },
  };
}

const dumpScript = "require('node:fs').writeFileSync(process.argv[2], JSON.stringify(process.env));\n";

/** A one-package pnpm workspace whose `probe` script writes the environment it was given. */
async function writeProbeWorkspace(folder: string): Promise<string> {
  const packageFolder = join(folder, 'packages', 'probe');
  await mkdir(packageFolder, { recursive: true });
  const output = join(folder, 'environment.json');
  await writeFile(
    join(folder, 'package.json'),
    JSON.stringify({ name: 'probe-workspace', private: true, packageManager: rootManifest.packageManager }),
  );
  await writeFile(join(folder, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  await writeFile(join(folder, 'turbo.json'), JSON.stringify(turboConfiguration(), null, 2));
  await writeFile(join(packageFolder, 'dump-environment.cjs'), dumpScript);
  await writeFile(
    join(packageFolder, 'package.json'),
    JSON.stringify({
      name: 'probe',
      version: '1.0.0',
      private: true,
      scripts: { probe: `node dump-environment.cjs ${JSON.stringify(output)}` },
    }),
  );
  return output;
}

/**
 * The environment a task's script gets when turbo runs it (turbo → `pnpm run`), started with
 * `environment` and `flags`, from the root turbo.json's settings for the release check.
 */
export async function environmentInsideTurboTask(
  folder: string,
  environment: Environment,
  flags: readonly string[],
): Promise<Environment> {
  const output = await writeProbeWorkspace(folder);
  const result = await execa(
    join(repositoryRoot, 'node_modules', '.bin', 'turbo'),
    ['run', 'probe', '--no-daemon', '--output-logs=errors-only', ...flags],
    { cwd: folder, env: environment, extendEnv: false, reject: false, all: true },
  );
  if (result.exitCode !== 0) throw new Error(`turbo run probe failed (${result.exitCode}):\n${result.all}`);
  return JSON.parse(await readFile(output, 'utf8')) as Environment;
}

/** The environment a script gets from `pnpm run` (no turbo), started with `environment`. */
export async function environmentInsidePnpmRun(
  folder: string,
  environment: Environment,
): Promise<Environment> {
  const output = await writeProbeWorkspace(folder);
  const result = await execa('pnpm', ['run', 'probe'], {
    cwd: join(folder, 'packages', 'probe'),
    env: environment,
    extendEnv: false,
    reject: false,
    all: true,
  });
  if (result.exitCode !== 0) throw new Error(`pnpm run probe failed (${result.exitCode}):\n${result.all}`);
  return JSON.parse(await readFile(output, 'utf8')) as Environment;
}
