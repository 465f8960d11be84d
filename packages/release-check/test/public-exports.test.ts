import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsumerCoverage } from '../src/public-exports.ts';

/**
 * The coverage check itself, on a tiny installed package: it must notice an export used only in
 * the wrong way or not at all, so the real check cannot pass by seeing nothing.
 */
describe('checkConsumerCoverage', () => {
  let projectFolder: string;

  async function write(path: string, text: string): Promise<void> {
    await mkdir(join(projectFolder, path, '..'), { recursive: true });
    await writeFile(join(projectFolder, path), text);
  }

  beforeAll(async () => {
    projectFolder = await mkdtemp(join(tmpdir(), 'keyless-coverage-'));
    await write(
      'tsconfig.json',
      JSON.stringify({ compilerOptions: { module: 'nodenext', strict: true, noEmit: true, types: [] } }),
    );
    await write(
      'node_modules/@fixture/library/package.json',
      JSON.stringify({
        name: '@fixture/library',
        type: 'module',
        exports: {
          '.': { types: './index.d.ts' },
          './internal': { types: './internal.d.ts' },
          './testing': { types: './testing.d.ts' },
        },
      }),
    );
    await write('node_modules/@fixture/library/internal.d.ts', 'export declare function helper(): void;\n');
    await write('node_modules/@fixture/library/testing.d.ts', 'export { called } from "./index.js";\n');
    await write(
      'node_modules/@fixture/library/index.d.ts',
      [
        'export declare function called(): void;',
        'export declare function onlyInTypeof(): void;',
        'export declare function neverImported(): void;',
        'export declare class Base {}',
        'export declare class OnlyImplemented { value: number }',
        'export interface Shape { size: number }',
        'export interface UnusedShape { size: number }',
        'declare class Hidden {}',
        'export type { Hidden };',
      ].join('\n'),
    );
    await write(
      'consumer.ts',
      [
        "import { Base, called, type Hidden, type OnlyImplemented, onlyInTypeof, type Shape, type UnusedShape } from '@fixture/library';",
        'called();',
        'export type Signature = typeof onlyInTypeof;',
        'export class Derived extends Base {}',
        'export class Implementation implements OnlyImplemented { value = 1 }',
        'export const shape: Shape = { size: 1 };',
        'export let hidden: Hidden | undefined;',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(projectFolder, { recursive: true, force: true });
  });

  it('lists each export with its kind and reports the ones not used as their kind requires', () => {
    const coverage = checkConsumerCoverage(projectFolder, join(projectFolder, 'consumer.ts'), [
      '@fixture/library',
    ]);
    const kinds = Object.fromEntries(coverage.exports.map((each) => [each.name, each.kind]));
    expect(kinds).toEqual({
      called: 'value',
      onlyInTypeof: 'value',
      neverImported: 'value',
      Base: 'value',
      OnlyImplemented: 'value',
      Shape: 'type',
      UnusedShape: 'type',
      Hidden: 'type',
    });
    expect(coverage.unused.map((each) => each.name).sort()).toEqual([
      'OnlyImplemented',
      'UnusedShape',
      'neverImported',
      'onlyInTypeof',
    ]);
    expect(coverage.problems).toEqual([]);
  });

  it('refuses every use of ./internal, ./testing and deep paths, and counts no root export used through them', async () => {
    await write(
      'subpath-consumer.ts',
      [
        "import { called } from '@fixture/library/testing';",
        "import { helper } from '@fixture/library/internal';",
        "export { helper as again } from '@fixture/library/internal';",
        "export type Seams = typeof import('@fixture/library/testing');",
        "export const later = () => import('@fixture/library/testing');",
        "import '@fixture/library/index.js';",
        'called();',
        'helper();',
      ].join('\n'),
    );
    const coverage = checkConsumerCoverage(projectFolder, join(projectFolder, 'subpath-consumer.ts'), [
      '@fixture/library',
    ]);
    const notForApplications = (subpath: string) =>
      `@fixture/library/${subpath} is used: ./${subpath} is not for applications (not covered by semver); use the root export`;
    expect(coverage.problems).toEqual([
      notForApplications('testing'),
      notForApplications('internal'),
      notForApplications('internal'),
      notForApplications('testing'),
      notForApplications('testing'),
      'import from a deep path: @fixture/library/index.js',
    ]);
    // `called` reached through ./testing is not a use of the root's `called`.
    expect(coverage.unused.map((each) => each.name)).toContain('called');
    expect(coverage.unused).toHaveLength(coverage.exports.length);
  });

  it('refuses namespace imports, which would hide what is used', async () => {
    await write('namespace-consumer.ts', "import * as library from '@fixture/library';\nlibrary.called();\n");
    const coverage = checkConsumerCoverage(projectFolder, join(projectFolder, 'namespace-consumer.ts'), [
      '@fixture/library',
    ]);
    expect(coverage.problems).toEqual(['namespace import from @fixture/library']);
    expect(coverage.unused).toHaveLength(coverage.exports.length);
  });
});
