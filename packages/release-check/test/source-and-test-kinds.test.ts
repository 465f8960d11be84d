import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TestKindReader } from '../../../vitest.test-kinds.ts';
import { findPublishedPackages, findWorkspacePackages } from '../src/workspace-packages.ts';

const sourceCondition = '@keyless/source';

type ExportEntry = Record<string, string>;

describe('tests load sibling packages from source, users get dist', () => {
  it('every export entry points at the source under @keyless/source, and the published exports are the rest', () => {
    const problems: string[] = [];
    for (const each of findPublishedPackages()) {
      const exportsField = each.manifest.exports as Record<string, ExportEntry | string>;
      const published = (each.manifest as { publishConfig?: { exports?: Record<string, unknown> } })
        .publishConfig?.exports;
      const withoutSource: Record<string, unknown> = {};
      for (const [subpath, entry] of Object.entries(exportsField)) {
        if (typeof entry === 'string') {
          withoutSource[subpath] = entry;
          continue;
        }
        const { [sourceCondition]: source, ...rest } = entry;
        withoutSource[subpath] = rest;
        if (source === undefined) {
          problems.push(`${each.name} ${subpath}: no ${sourceCondition} condition`);
          continue;
        }
        if (!existsSync(join(each.folder, source)))
          problems.push(`${each.name} ${subpath}: ${source} does not exist`);
        const built = rest.import?.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
        if (built !== source)
          problems.push(`${each.name} ${subpath}: source ${source} is not the source of ${rest.import}`);
      }
      if (JSON.stringify(published) !== JSON.stringify(withoutSource))
        problems.push(`${each.name}: publishConfig.exports differs from exports without ${sourceCondition}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('fast and stack tests apart (vitest.test-kinds.ts)', () => {
  const reader = new TestKindReader();
  const kinds = new Map<string, string>();
  for (const each of findWorkspacePackages()) {
    for (const file of reader.classify(each.folder))
      kinds.set(`${each.relativeFolder}/${file.file}`, file.kind);
  }

  it('error-mapping tables and the server-less conformance groups are fast tests, against-the-stack is a stack test', () => {
    const wrong: string[] = [];
    for (const [file, kind] of kinds) {
      if (/-error-mapping\.test\.ts$/.test(file) && kind !== 'fast') wrong.push(`${file} is ${kind}`);
      if (
        /packages\/(blob|keyvault|sql|postgres|redis)\/test\/conformance\.test\.ts$/.test(file) &&
        kind !== 'stack'
      )
        wrong.push(`${file} is ${kind}`);
    }
    expect(wrong).toEqual([]);
    expect(
      [...kinds.keys()].filter((file) => file.endsWith('-error-mapping.test.ts')).length,
    ).toBeGreaterThanOrEqual(5);
  });

  it('the local stack’s own launch tests are stack tests, core’s unit tests fast', () => {
    expect(kinds.get('packages/local-azure/test/local-azure-stack.test.ts')).toBe('stack');
    expect(kinds.get('packages/core/test/token-cache.test.ts')).toBe('fast');
  });
});
