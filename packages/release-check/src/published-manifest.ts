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
  problems.push(...checkSubpathExports(manifest.exports ?? {}, root));
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

/** The subpaths a package may export besides its root (docs/contributing.md, "public surface"). */
export const allowedSubpaths = ['./internal', './testing'] as const;

/**
 * `./internal` and `./testing` are built like the root (`dist/<name>.js` and its `.d.ts`) and offered
 * under the same conditions, types first; nothing else sits beside the root but `./package.json`.
 */
function checkSubpathExports(
  exports: Record<string, unknown>,
  root: Record<string, string> | undefined,
): string[] {
  const problems: string[] = [];
  const rootConditions = Object.keys(root ?? {}).join(', ');
  for (const [subpath, value] of Object.entries(exports)) {
    if (subpath === '.' || subpath === './package.json') continue;
    if (!(allowedSubpaths as readonly string[]).includes(subpath)) {
      problems.push(
        `exports["${subpath}"]: besides the root only ${allowedSubpaths.join(' and ')} may be exported`,
      );
      continue;
    }
    const file = subpath.slice(2);
    const conditions = (typeof value === 'object' && value !== null ? value : {}) as Record<string, string>;
    if (Object.keys(conditions).join(', ') !== rootConditions)
      problems.push(`exports["${subpath}"] must have the root's conditions in its order (${rootConditions})`);
    if (conditions.types !== `./dist/${file}.d.ts`)
      problems.push(`exports["${subpath}"].types must be ./dist/${file}.d.ts`);
    for (const condition of ['import', 'default']) {
      if (condition in conditions && conditions[condition] !== `./dist/${file}.js`)
        problems.push(`exports["${subpath}"].${condition} must be ./dist/${file}.js`);
    }
  }
  return problems;
}
