import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import semver from 'semver';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { packageBin } from '../src/package-bin.ts';
import { checkPublishedManifest } from '../src/published-manifest.ts';
import { findBrokenPublishedLinks, repositoryWebUrl } from '../src/readme-links.ts';
import { findUndocumentedSubpaths } from '../src/subpath-documentation.ts';
import {
  findBrokenSourceMaps,
  findFilesListMismatches,
  findStaleBuildOutput,
  findUnwantedFiles,
} from '../src/tarball-contents.ts';
import { unpackTarball } from '../src/tarball-files.ts';
import {
  findPublishedPackages,
  type PackageManifest,
  readCatalog,
  readManifest,
  repositoryRoot,
} from '../src/workspace-packages.ts';

const packed = inject('packedPackages');
const unpackFolder = join(inject('releaseCheckFolder'), 'unpacked');
const packedVersions = new Map(packed.map((each) => [each.name, each.version]));
const webUrl = repositoryWebUrl();
const rootNodeRange = readManifest(repositoryRoot).engines?.node ?? '(none)';
const relativeFolders = new Map(findPublishedPackages().map((each) => [each.name, each.relativeFolder]));

describe.each(packed)('$name tarball', (tarball) => {
  const folder = join(unpackFolder, tarball.name);
  let files: string[];
  let manifest: PackageManifest;

  beforeAll(async () => {
    files = await unpackTarball(tarball.tarball, folder);
    manifest = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as PackageManifest;
  });

  it('passes publint in strict mode with no errors, warnings or suggestions', async () => {
    const buffer = await readFile(tarball.tarball);
    const result = await publint({
      pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) },
      strict: true,
      level: 'suggestion',
    });
    expect(
      result.messages.map((message) => `${message.type}: ${formatMessage(message, result.pkg)}`),
    ).toEqual([]);
  });

  it('has types that resolve for ESM consumers (arethetypeswrong, esm-only profile)', async () => {
    const result = await execa(
      process.execPath,
      [
        packageBin('@arethetypeswrong/cli', 'attw'),
        tarball.tarball,
        '--profile',
        'esm-only',
        '--format',
        'json',
      ],
      { reject: false },
    );
    const report = JSON.parse(result.stdout) as {
      analysis: { types: { kind: string }; problems: { kind: string; resolutionKind?: string }[] };
    };
    // The esm-only profile ignores node10 and node16-cjs: a require() of an ESM-only package is expected to fail.
    const problems = report.analysis.problems.filter(
      (problem) => !['node10', 'node16-cjs'].includes(problem.resolutionKind ?? ''),
    );
    expect(problems).toEqual([]);
    expect(report.analysis.types.kind).toBe('included');
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it('has the package.json fields users and registries rely on', () => {
    const expected = {
      relativeFolder: relativeFolders.get(tarball.name) ?? '(unknown)',
      webUrl,
      nodeRange: rootNodeRange,
    };
    expect(checkPublishedManifest(manifest, packedVersions, expected)).toEqual([]);
    expect(manifest.version).toBe(readManifest(tarball.folder).version);
  });

  it('declares peers that the catalog versions (what the workspace tests with) satisfy', () => {
    const catalog = readCatalog();
    for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
      const tested = catalog[name];
      expect(tested, `${name} is not in the catalog`).toBeDefined();
      expect(
        semver.satisfies(tested as string, range),
        `${name}@${tested} is outside the peer range ${range}`,
      ).toBe(true);
      // The workspace must test against the peer it declares.
      expect(readManifest(tarball.folder).devDependencies?.[name], `${name} as a devDependency`).toBe(
        'catalog:',
      );
    }
  });

  it('contains README, LICENSE, the built code and its declarations', () => {
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
    );
    // The bundler's shared chunks (dist/chunks/) are imported only by the entry points, never by users:
    // no declarations of their own.
    const javascript = files.filter(
      (file) => file.startsWith('dist/') && !file.startsWith('dist/chunks/') && file.endsWith('.js'),
    );
    const undeclared = javascript.filter((file) => !files.includes(file.replace(/\.js$/, '.d.ts')));
    expect(undeclared).toEqual([]);
    for (const target of Object.values(manifest.bin ?? {}))
      expect(files).toContain(target.replace(/^\.\//, ''));
  });

  it('contains what "files" lists, and nothing else but what npm always adds', () => {
    expect(manifest.files?.length ?? 0).toBeGreaterThan(0);
    expect(findFilesListMismatches(tarball.folder, manifest.files ?? [], files)).toEqual([]);
  });

  it('links only to absolute URLs in its README (a relative link leads nowhere on npmjs.com)', async () => {
    const readme = await readFile(join(folder, 'README.md'), 'utf8');
    expect(findBrokenPublishedLinks(readme)).toEqual([]);
  });

  it('says in its README that ./internal and ./testing, where exported, are not covered by semver', async () => {
    const readme = await readFile(join(folder, 'README.md'), 'utf8');
    expect(findUndocumentedSubpaths(tarball.name, manifest.exports ?? {}, readme)).toEqual([]);
  });

  it('contains no tests, TypeScript sources, build state or stale output', () => {
    expect(findUnwantedFiles(files)).toEqual([]);
    expect(findStaleBuildOutput(tarball.folder, files)).toEqual([]);
  });

  it('has no source map that points at a file missing from the tarball', async () => {
    expect(await findBrokenSourceMaps(folder, files)).toEqual([]);
  });
});
