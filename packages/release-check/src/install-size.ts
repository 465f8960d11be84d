import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { installConsumerProject } from './consumer-project.ts';
import type { PackedPackage } from './pack-packages.ts';
import { readManifest } from './workspace-packages.ts';

/** What installing one published package costs a user: npm's own tree, measured after install. */
export interface InstallSize {
  name: string;
  /** Bytes of every file under node_modules (apparent size, not disk blocks: the same on any file system). */
  bytes: number;
  /** Packages installed besides the package itself: dependencies, transitively, and the peers npm adds. */
  dependencies: number;
  /** The required peers npm installed with it (npm ≥ 7 installs non-optional peers). */
  peers: string[];
}

async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
    // Symbolic links (node_modules/.bin) point at files already counted.
  }
  return total;
}

/**
 * Installs `target`'s tarball alone into a fresh npm project, the way a user adds it, and measures
 * node_modules. The other tarballs are `overrides` only, so `@keyless/core` inside a connector comes
 * from the local tarball (nothing of ours is on the registry) without being installed for itself.
 * `cacheFolder` gives npm its own cache (an empty one measures a first install).
 */
export async function measureInstallSize(
  target: PackedPackage,
  packed: readonly PackedPackage[],
  projectFolder: string,
  options: { cacheFolder?: string } = {},
): Promise<InstallSize> {
  await mkdir(projectFolder, { recursive: true });
  const specs = Object.fromEntries(
    packed.map((each) => [each.name, `file:${relative(projectFolder, each.tarball)}`]),
  );
  const manifest = {
    name: 'keyless-install-size',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { [target.name]: specs[target.name] },
    overrides: specs,
  };
  await writeFile(join(projectFolder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const install = await installConsumerProject(
    projectFolder,
    process.execPath,
    options.cacheFolder ? ['--cache', options.cacheFolder] : [],
  );
  if (install.exitCode !== 0)
    throw new Error(`npm install of ${target.name} failed (exit ${install.exitCode}):\n${install.output}`);
  const lock = JSON.parse(await readFile(join(projectFolder, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  const installed = Object.keys(lock.packages).filter((path) => path.includes('node_modules/'));
  const declaredPeers = readManifest(target.folder).peerDependencies ?? {};
  const optionalPeers =
    (readManifest(target.folder) as { peerDependenciesMeta?: Record<string, { optional?: boolean }> })
      .peerDependenciesMeta ?? {};
  return {
    name: target.name,
    bytes: await folderBytes(join(projectFolder, 'node_modules')),
    dependencies: installed.length - 1,
    peers: Object.keys(declaredPeers)
      .filter((name) => optionalPeers[name]?.optional !== true)
      .filter((name) => installed.includes(`node_modules/${name}`))
      .sort(),
  };
}

/** Megabytes as npm prints them (10^6 bytes), two decimals. */
export function megabytes(bytes: number): number {
  return Math.round(bytes / 10_000) / 100;
}

/** A committed ceiling per package: what CI allows before someone must look at what grew. */
export interface InstallCeiling {
  megabytes: number;
  dependencies: number;
}

/** One line per package over its ceiling, naming what grew and by how much. */
export function findCeilingBreaches(
  measured: readonly InstallSize[],
  ceilings: Readonly<Record<string, InstallCeiling>>,
): string[] {
  const breaches: string[] = [];
  for (const each of measured) {
    const ceiling = ceilings[each.name];
    if (!ceiling) {
      breaches.push(
        `${each.name} has no install-size ceiling: add one (measured ${megabytes(each.bytes)} MB, ${each.dependencies} dependencies)`,
      );
      continue;
    }
    const size = megabytes(each.bytes);
    if (size > ceiling.megabytes)
      breaches.push(
        `${each.name} installs ${size} MB, ${(size - ceiling.megabytes).toFixed(2)} MB over its ceiling of ${ceiling.megabytes} MB`,
      );
    if (each.dependencies > ceiling.dependencies)
      breaches.push(
        `${each.name} installs ${each.dependencies} dependencies, ${each.dependencies - ceiling.dependencies} over its ceiling of ${ceiling.dependencies}`,
      );
  }
  return breaches;
}
