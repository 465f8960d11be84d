import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import type { PackedPackage } from './pack-packages.ts';
import { userShellEnvironment } from './user-shell-environment.ts';
import { catalogVersion, readCatalog, readManifest } from './workspace-packages.ts';

/** What a user's project holds besides the tarballs: the consumer file, its tsconfig, the smoke script. */
const consumerFiles = ['consumer.ts', 'tsconfig.json', 'smoke.mjs'];
const consumerSourceFolder = resolve(import.meta.dirname, '../consumer');

/** Type packages the consumer compiles with; a user of pg adds @types/pg the same way. */
const typeCheckTools = ['typescript', '@types/node', '@types/pg'];

/**
 * The peers a user installs next to the connectors: every peer dependency of the packed packages,
 * at the version the workspace builds and tests with (the catalog).
 */
export function peerVersions(packed: readonly PackedPackage[]): Record<string, string> {
  const catalog = readCatalog();
  const published = new Set(packed.map((each) => each.name));
  const versions: Record<string, string> = {};
  for (const each of packed) {
    for (const name of Object.keys(readManifest(each.folder).peerDependencies ?? {})) {
      if (!published.has(name)) versions[name] = catalogVersion(catalog, name);
    }
  }
  return versions;
}

/**
 * A fresh npm project: the tarballs as `file:` dependencies, and the same specs as `overrides`, so
 * that `@keyless/core@^0.0.0` inside `@keyless/blob` also resolves to the local tarball instead of
 * the registry (where nothing of ours is published yet, or an older release is).
 */
export async function createConsumerProject(
  projectFolder: string,
  packed: readonly PackedPackage[],
  peers: Record<string, string>,
  { typeCheck = true }: { typeCheck?: boolean } = {},
): Promise<void> {
  await mkdir(projectFolder, { recursive: true });
  const catalog = readCatalog();
  const tarballSpecs = Object.fromEntries(
    packed.map((each) => [each.name, `file:${relative(projectFolder, each.tarball)}`]),
  );
  const manifest = {
    name: 'keyless-release-check-consumer',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { ...tarballSpecs, ...peers },
    devDependencies: typeCheck
      ? Object.fromEntries(typeCheckTools.map((name) => [name, catalogVersion(catalog, name)]))
      : {},
    overrides: tarballSpecs,
  };
  await writeFile(join(projectFolder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of consumerFiles)
    await copyFile(join(consumerSourceFolder, file), join(projectFolder, file));
}

export interface InstallResult {
  exitCode: number;
  output: string;
  durationMs: number;
}

/**
 * `npm install`, as most users run it; the cache makes a second run fast, the registry is the only
 * network. npm runs on `node` (first on PATH, so npm's `#!/usr/bin/env node` finds it), and so do
 * the install scripts it starts.
 */
export async function installConsumerProject(
  projectFolder: string,
  node: string = process.execPath,
  extraArguments: readonly string[] = [],
): Promise<InstallResult> {
  const started = performance.now();
  const result = await execa(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...extraArguments],
    {
      cwd: projectFolder,
      env: userShellEnvironment(process.env, node),
      extendEnv: false,
      reject: false,
      all: true,
    },
  );
  return {
    exitCode: result.exitCode ?? 1,
    output: result.all ?? '',
    durationMs: performance.now() - started,
  };
}

interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
}

/**
 * Every installed copy of a package of ours with where it came from (npm's lockfile `resolved`),
 * so the check can prove none came from the registry.
 */
export async function installedKeylessPackages(
  projectFolder: string,
): Promise<{ path: string; version: string | undefined; resolved: string | undefined }[]> {
  const lock = JSON.parse(await readFile(join(projectFolder, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  return Object.entries(lock.packages)
    .filter(([path]) => /(^|\/)node_modules\/@keyless\//.test(path))
    .map(([path, entry]) => ({ path, version: entry.version, resolved: entry.resolved }));
}
