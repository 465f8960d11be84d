import type { PackageManifest } from './workspace-packages.ts';

/** What the published manifests are checked against: the repository's own facts. */
export interface ManifestExpectations {
  /** The package's folder in the repository, e.g. `packages/core`. */
  relativeFolder: string;
  /** https://github.com/<owner>/<name> */
  webUrl: string;
  /** The root package.json's engines.node: one minimum Node for the whole repository. */
  nodeRange: string;
}

/**
 * What every published package.json must say, as read from the tarball (after pnpm has replaced
 * `workspace:` and `catalog:` ranges). Returns one line per problem; empty when it is right.
 */
export function checkPublishedManifest(
  manifest: PackageManifest,
  packedVersions: ReadonlyMap<string, string>,
  expected: ManifestExpectations,
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
  expectThat(
    manifest.engines?.node === expected.nodeRange,
    `engines.node must be "${expected.nodeRange}" (the root package.json's), not "${manifest.engines?.node}"`,
  );
  // npmjs.com links the repository, the home page and the issue tracker from these.
  expectThat(
    manifest.repository?.type === 'git' && manifest.repository.url === `git+${expected.webUrl}.git`,
    `repository must be { type: "git", url: "git+${expected.webUrl}.git", … }`,
  );
  expectThat(
    manifest.repository?.directory === expected.relativeFolder,
    `repository.directory must be "${expected.relativeFolder}" (where the package lives in the repository)`,
  );
  expectThat(
    manifest.homepage === `${expected.webUrl}/tree/main/${expected.relativeFolder}#readme`,
    `homepage must be ${expected.webUrl}/tree/main/${expected.relativeFolder}#readme`,
  );
  expectThat(
    manifest.bugs?.url === `${expected.webUrl}/issues`,
    `bugs.url must be ${expected.webUrl}/issues`,
  );
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
