import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBrokenSourceMaps, findStaleBuildOutput, findUnwantedFiles } from '../src/tarball-contents.ts';

/** The tarball content checks on made-up file lists, so the real check cannot pass by seeing nothing. */
describe('tarball content checks', () => {
  let folder: string;

  async function write(path: string, text: string): Promise<void> {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), text);
  }

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keyless-tarball-'));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('finds tests, TypeScript sources and build state, but not declarations or built code', () => {
    const files = [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.js.map',
      'bin/cli.js',
      'src/index.ts',
      'dist/index.test.js',
      'test/helper.js',
      'dist/extra.mts',
      'tsconfig.tsbuildinfo',
      'tsconfig.build.json',
    ];
    expect(findUnwantedFiles(files)).toEqual([
      'src/index.ts',
      'dist/index.test.js',
      'test/helper.js',
      'dist/extra.mts',
      'tsconfig.tsbuildinfo',
      'tsconfig.build.json',
    ]);
  });

  it('accepts maps with inlined sources and reports maps and comments that point at missing files', async () => {
    await write('dist/good.js', 'export {};\n//# sourceMappingURL=good.js.map\n');
    await write(
      'dist/good.js.map',
      JSON.stringify({ sources: ['../src/good.ts'], sourcesContent: ['export {};'] }),
    );
    await write('dist/bare.js', 'export {};\n//# sourceMappingURL=bare.js.map\n');
    await write('dist/bare.js.map', JSON.stringify({ sources: ['../src/bare.ts'] }));
    await write('dist/types.d.ts', 'export {};\n//# sourceMappingURL=types.d.ts.map\n');
    const files = ['dist/good.js', 'dist/good.js.map', 'dist/bare.js', 'dist/bare.js.map', 'dist/types.d.ts'];
    expect(await findBrokenSourceMaps(folder, files)).toEqual([
      'dist/bare.js.map needs src/bare.ts, which is neither in the tarball nor inlined',
      'dist/types.d.ts points at dist/types.d.ts.map, which is not in the tarball',
    ]);
  });

  it('reports build output whose source file is gone (a bundler chunk has none of its own)', async () => {
    await write('package/src/kept.ts', 'export {};\n');
    await write('package/src/nested/also-kept.ts', 'export {};\n');
    const files = [
      'dist/kept.js',
      'dist/kept.d.ts',
      'dist/nested/also-kept.js',
      'dist/renamed.js',
      'dist/renamed.d.ts',
      'dist/chunks/chunk-ABC123.js',
    ];
    expect(findStaleBuildOutput(join(folder, 'package'), files)).toEqual([
      'dist/renamed.js',
      'dist/renamed.d.ts',
    ]);
  });
});
