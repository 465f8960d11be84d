// `pnpm bench` (turbo builds every package first): each published package packed, installed alone
// with npm into a fresh project (npm's cache empty at the start of the run), and measured. Writes
// bench-results/install-size.json in the shared format and prints the table.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InstallSize, measureInstallSize, megabytes } from '../src/install-size.ts';
import { packPackage } from '../src/pack-packages.ts';
import { findPublishedPackages, repositoryRoot } from '../src/workspace-packages.ts';

const folder = await mkdtemp(join(tmpdir(), 'keyless-install-size-'));
try {
  const tarballs = join(folder, 'tarballs');
  await mkdir(tarballs);
  const packed = await Promise.all(findPublishedPackages().map((each) => packPackage(each, tarballs)));
  const measured: InstallSize[] = [];
  for (const target of packed) {
    // npm's cache starts empty for the run (the user's cache plays no part); the installs share it,
    // which changes how long they take, not what they install.
    const cacheFolder = join(folder, 'cache');
    const size = await measureInstallSize(
      target,
      packed,
      join(folder, 'projects', target.name.replace('/', '+')),
      {
        cacheFolder,
      },
    );
    measured.push(size);
    process.stdout.write(
      `${target.name.padEnd(22)} ${String(megabytes(size.bytes)).padStart(7)} MB ${String(size.dependencies).padStart(4)} dependencies${size.peers.length > 0 ? `  (with peers ${size.peers.join(', ')})` : ''}\n`,
    );
  }
  const peersNote = (size: InstallSize) =>
    size.peers.length > 0 ? `includes the peers npm installs: ${size.peers.join(', ')}` : undefined;
  const row = (size: InstallSize, unit: 'MB' | 'packages', value: number) => ({
    measure: size.name,
    unit,
    raw: null,
    keyless: value,
    ratio: null,
    better: 'lower',
    goal: null,
    rawLabel: null,
    keylessLabel: 'npm install <tarball> into a fresh project',
    ...(peersNote(size) ? { note: peersNote(size) } : {}),
  });
  const result = {
    bench: 'install-size',
    title: 'Install size of each published package (npm, from the packed tarball)',
    generatedAt: new Date().toISOString(),
    node: process.version,
    tables: [
      {
        title: 'Size of node_modules after installing the package alone',
        rows: measured.map((size) => row(size, 'MB', megabytes(size.bytes))),
      },
      {
        title: 'Packages installed with it (dependencies, transitively, and required peers)',
        rows: measured.map((size) => row(size, 'packages', size.dependencies)),
      },
    ],
  };
  const resultsFolder = join(repositoryRoot, 'bench-results');
  await mkdir(resultsFolder, { recursive: true });
  await writeFile(join(resultsFolder, 'install-size.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write('written to bench-results/install-size.json\n');
} finally {
  await rm(folder, { recursive: true, force: true });
}
