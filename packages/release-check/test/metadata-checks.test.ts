import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPublishedManifest } from '../src/published-manifest.ts';
import { findBrokenPublishedLinks, markdownLinkTargets, repositoryWebUrl } from '../src/readme-links.ts';
import { findUndocumentedSubpaths } from '../src/subpath-documentation.ts';
import { findFilesListMismatches } from '../src/tarball-contents.ts';
import type { PackageManifest } from '../src/workspace-packages.ts';

/** The metadata checks on made-up input, so the real checks cannot pass by seeing nothing. */
describe('published README links', () => {
  const webUrl = repositoryWebUrl();

  it('finds inline links, images, reference definitions and HTML links, but not code', () => {
    const readme = [
      'See [core](../core/README.md "Core") and ![logo](./docs/logo.png).',
      '[guide]: ./docs/guide.md',
      '<a href="docs/api/README.md">API</a> <img src="https://example.com/x.png">',
      '`[not](a-link.md)`',
      '```md',
      '[also not](inside-a-fence.md)',
      '```',
    ].join('\n');
    expect(markdownLinkTargets(readme)).toEqual([
      '../core/README.md',
      './docs/logo.png',
      './docs/guide.md',
      'docs/api/README.md',
      'https://example.com/x.png',
    ]);
  });

  it('reports relative links and links to files the repository does not have; accepts the rest', () => {
    const readme = [
      `[architecture](${webUrl}/blob/main/docs/architecture.md) [root](${webUrl}#readme)`,
      '[options](#options) [mail](mailto:team@example.com) [npm](https://www.npmjs.com/package/pg)',
      '[sibling](../core/README.md) [docs](./docs/x.md)',
      `[gone](${webUrl}/blob/main/docs/no-such-page.md)`,
    ].join('\n');
    expect(findBrokenPublishedLinks(readme)).toEqual([
      `../core/README.md is relative: on npmjs.com it leads nowhere; link ${webUrl}/blob/main/… instead`,
      `./docs/x.md is relative: on npmjs.com it leads nowhere; link ${webUrl}/blob/main/… instead`,
      `${webUrl}/blob/main/docs/no-such-page.md names docs/no-such-page.md, which is not in the repository`,
    ]);
  });
});

describe('the tarball against "files"', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keyless-files-list-'));
    await mkdir(join(folder, 'dist'), { recursive: true });
    await mkdir(join(folder, 'bin'), { recursive: true });
    await writeFile(join(folder, 'README.md'), '');
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reports files "files" does not list and listed entries missing from the tarball', () => {
    const files = ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'scripts/release.sh', '.env'];
    expect(findFilesListMismatches(folder, ['dist', 'bin', 'README.md', 'CHANGELOG.md'], files)).toEqual([
      'scripts/release.sh is in the tarball but not in "files"',
      '.env is in the tarball but not in "files"',
      '"files" lists bin, which the package has but the tarball does not',
    ]);
  });

  it('accepts a tarball that matches, globs included', () => {
    const files = ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'bin/cli.js'];
    expect(findFilesListMismatches(folder, ['dist/*.js', 'dist/*.d.ts', 'bin/', 'README.md'], files)).toEqual(
      [],
    );
  });
});

describe('published package.json', () => {
  const webUrl = 'https://github.com/keyless-dev/keyless';
  const expected = { relativeFolder: 'packages/blob', webUrl, nodeRange: '>=22.15.0' };
  const good: PackageManifest = {
    name: '@keyless/blob',
    version: '0.1.0',
    type: 'module',
    license: 'MIT',
    description: 'Blob Storage with a managed identity',
    keywords: ['azure', 'blob', 'managed-identity'],
    sideEffects: false,
    engines: { node: '>=22.15.0' },
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    files: ['dist'],
    repository: { type: 'git', url: `git+${webUrl}.git`, directory: 'packages/blob' },
    homepage: `${webUrl}/tree/main/packages/blob#readme`,
    bugs: { url: `${webUrl}/issues` },
  };

  it('accepts one that says everything', () => {
    expect(checkPublishedManifest(good, new Map(), expected)).toEqual([]);
  });

  it('reports a missing repository directory, homepage, bugs URL and an engines range of its own', () => {
    const { homepage: _homepage, bugs: _bugs, ...rest } = good;
    const manifest = {
      ...rest,
      engines: { node: '>=22' },
      repository: { type: 'git', url: `git+${webUrl}.git` },
    };
    expect(checkPublishedManifest(manifest, new Map(), expected)).toEqual([
      'engines.node must be ">=22.15.0" (the root package.json\'s), not ">=22"',
      'repository.directory must be "packages/blob" (where the package lives in the repository)',
      `homepage must be ${webUrl}/tree/main/packages/blob#readme`,
      `bugs.url must be ${webUrl}/issues`,
    ]);
  });

  it('accepts ./internal and ./testing built and offered like the root', () => {
    const manifest = {
      ...good,
      exports: {
        '.': { types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' },
        './internal': {
          types: './dist/internal.d.ts',
          import: './dist/internal.js',
          default: './dist/internal.js',
        },
        './testing': {
          types: './dist/testing.d.ts',
          import: './dist/testing.js',
          default: './dist/testing.js',
        },
        './package.json': './package.json',
      },
    };
    expect(checkPublishedManifest(manifest, new Map(), expected)).toEqual([]);
  });

  it('reports another subpath, and a subpath whose conditions or files differ from the root', () => {
    const manifest = {
      ...good,
      exports: {
        '.': { types: './dist/index.d.ts', import: './dist/index.js' },
        './internal': { import: './dist/internal.js', types: './dist/internal.d.ts' },
        './testing': { types: './dist/index.d.ts', import: './dist/test-seams.js' },
        './utils': { types: './dist/utils.d.ts', import: './dist/utils.js' },
      },
    };
    expect(checkPublishedManifest(manifest, new Map(), expected)).toEqual([
      'exports["./internal"] must have the root\'s conditions in its order (types, import)',
      'exports["./testing"].types must be ./dist/testing.d.ts',
      'exports["./testing"].import must be ./dist/testing.js',
      'exports["./utils"]: besides the root only ./internal and ./testing may be exported',
    ]);
  });
});

describe('the README on ./internal and ./testing', () => {
  const exports = { '.': {}, './internal': {}, './testing': {}, './package.json': './package.json' };

  it('accepts subpaths named in a section that says they are not covered by semver', () => {
    const readme = [
      '# @keyless/example',
      '## Not for applications',
      'Neither is covered by semver:',
      '',
      '- `@keyless/example/internal`: shared helpers',
      '- `@keyless/example/testing`: test seams',
    ].join('\n');
    expect(findUndocumentedSubpaths('@keyless/example', exports, readme)).toEqual([]);
    const oneParagraph =
      'Use `@keyless/example/internal` and `@keyless/example/testing` in tests only: not\ncovered by semver.';
    expect(findUndocumentedSubpaths('@keyless/example', exports, oneParagraph)).toEqual([]);
  });

  it('reports a subpath not named, or named away from the semver sentence or only in code', () => {
    const readme = [
      '# @keyless/example',
      'The subpaths below are not covered by semver.',
      '## Testing',
      'Import `@keyless/example/testing` in your tests.',
      '```sh',
      '# @keyless/example/internal is not covered by semver',
      '```',
    ].join('\n');
    expect(findUndocumentedSubpaths('@keyless/example', exports, readme)).toEqual([
      'the README does not say that @keyless/example/internal is not covered by semver (name it in a section that does)',
      'the README does not say that @keyless/example/testing is not covered by semver (name it in a section that does)',
    ]);
    expect(findUndocumentedSubpaths('@keyless/example', { '.': {} }, '')).toEqual([]);
  });
});
