import type { PackageManifest } from './workspace-packages.ts';

/**
 * What every published package.json must say, as read from the tarball (after pnpm has replaced
 * `workspace:` and `catalog:` ranges). Returns one line per problem; empty when it is right.
 */
export function checkPublishedManifest(
  manifest: PackageManifest,
  packedVersions: ReadonlyMap<string, string>,
): string[] {
  const problems: string[] = [];
  const expectThat = (condition: boolean, problem: string) => {
    if (!condition) problems.push(problem);
  };
  expectThat(manifest.type === 'module', 'type must be "module" (ESM only)');
  expectThat(manifest.license === 'MIT', 'license must be "MIT"');
  expectThat((manifest.description ?? '').length >= 20, 'description must say what the package is');
  expectThat((manifest.keywords ?? []).length >= 3, 'keywords must help npm search find it');
  expectThat(manifest.sideEffects === false, 'sideEffects must be false (nothing runs at import)');
  expectThat(manifest.engines?.node === '>=22', 'engines.node must be ">=22"');
  expectThat(manifest.types === './dist/index.d.ts', 'types must be ./dist/index.d.ts');
  const root = manifest.exports?.['.'] as Record<string, string> | undefined;
  expectThat(root?.types === './dist/index.d.ts', 'exports["."].types must be ./dist/index.d.ts');
  expectThat(root?.import === './dist/index.js', 'exports["."].import must be ./dist/index.js');
  expectThat(root !== undefined && !('require' in root), 'exports must not offer require (ESM only)');
  expectThat(Object.keys(root ?? {})[0] === 'types', 'exports["."].types must come first');
  expectThat((manifest.files ?? []).includes('dist'), 'files must include dist');
  for (const field of ['dependencies', 'peerDependencies'] as const) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      expectThat(!/^(workspace|catalog):/.test(range), `${field}.${name} is still "${range}" in the tarball`);
      const internal = packedVersions.get(name);
      if (internal !== undefined) {
        expectThat(field === 'dependencies', `${name} must be a dependency, not a peer`);
        expectThat(
          range === `^${internal}`,
          `${field}.${name} must be ^${internal} (the packed version), not ${range}`,
        );
      }
    }
  }
  return problems;
}
