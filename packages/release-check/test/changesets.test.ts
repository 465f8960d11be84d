import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type BumpType,
  type Changeset,
  copyRepository,
  readChangesets,
  runChangesetVersion,
} from '../src/changeset-files.ts';
import { findWorkspacePackages, type WorkspacePackage } from '../src/workspace-packages.ts';

const workFolder = join(inject('releaseCheckFolder'), 'changesets');
const bumpOrder: BumpType[] = ['patch', 'minor', 'major'];

function byName(packages: WorkspacePackage[]): Map<string, WorkspacePackage> {
  return new Map(packages.map((each) => [each.name, each]));
}

function versionOf(packages: Map<string, WorkspacePackage>, name: string): string {
  const found = packages.get(name);
  if (!found) throw new Error(`${name} is missing`);
  return found.manifest.version;
}

/** Changelogs may be re-wrapped by a formatter; compare words, not line breaks. */
function words(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Published packages that depend (at run time, directly or through another) on one of `changed`. */
function dependentsOf(packages: WorkspacePackage[], changed: Set<string>): Set<string> {
  const dependents = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const each of packages) {
      if (each.manifest.private || dependents.has(each.name) || changed.has(each.name)) continue;
      const internal = Object.keys(each.manifest.dependencies ?? {});
      if (internal.some((name) => changed.has(name) || dependents.has(name))) {
        dependents.add(each.name);
        grew = true;
      }
    }
  }
  return dependents;
}

async function changelogOf(root: string, workspacePackage: WorkspacePackage): Promise<string> {
  return readFile(join(root, workspacePackage.relativeFolder, 'CHANGELOG.md'), 'utf8');
}

describe('changeset version on a copy of the repository (no publish, no git)', () => {
  const root = join(workFolder, 'first-release');
  let before: Map<string, WorkspacePackage>;
  let after: Map<string, WorkspacePackage>;
  let changesets: Changeset[];
  let run: { exitCode: number; output: string };
  /** Packages never versioned yet: no CHANGELOG.md. */
  let unreleased: Set<string>;

  beforeAll(async () => {
    await copyRepository(root);
    before = byName(findWorkspacePackages(root));
    unreleased = new Set(
      [...before.values()]
        .filter((each) => !existsSync(join(root, each.relativeFolder, 'CHANGELOG.md')))
        .map((each) => each.name),
    );
    changesets = await readChangesets(root);
    run = await runChangesetVersion(root);
    after = byName(findWorkspacePackages(root));
  });

  it('runs and consumes every pending changeset', async () => {
    expect(run.exitCode, run.output).toBe(0);
    expect(changesets.length).toBeGreaterThan(0);
    const left = (await readdir(join(root, '.changeset'))).filter(
      (name) => name.endsWith('.md') && name !== 'README.md',
    );
    expect(left).toEqual([]);
  });

  it('names only workspace packages, and no private one, in the changesets', () => {
    for (const changeset of changesets) {
      for (const name of Object.keys(changeset.releases)) {
        expect(before.get(name), `${changeset.file} names ${name}`).toBeDefined();
        expect(before.get(name)?.manifest.private, `${changeset.file} releases private ${name}`).not.toBe(
          true,
        );
      }
    }
  });

  it('bumps each package by its highest changeset; a first release is 0.1.0', () => {
    for (const [name, original] of before) {
      if (original.manifest.private) continue;
      const bumps = changesets.flatMap((changeset) => changeset.releases[name] ?? []);
      if (bumps.length === 0) continue;
      const highest = bumps.reduce((a, b) => (bumpOrder.indexOf(a) >= bumpOrder.indexOf(b) ? a : b));
      const released = versionOf(after, name);
      expect(semver.valid(released), `${name}: ${released}`).not.toBeNull();
      expect(released, name).toBe(semver.inc(original.manifest.version, highest));
      if (unreleased.has(name)) expect(released, `${name}'s first release`).toBe('0.1.0');
    }
  });

  it('writes a CHANGELOG with every summary under the new version', async () => {
    for (const [name, released] of after) {
      const summaries = changesets
        .filter((changeset) => name in changeset.releases)
        .map((each) => each.summary);
      if (summaries.length === 0) continue;
      const changelog = await changelogOf(root, released);
      expect(changelog).toContain(`## ${released.manifest.version}\n`);
      for (const summary of summaries) expect(words(changelog), name).toContain(words(summary));
    }
  });

  it('releases dependents of a released package with the new dependency version in their changelog', async () => {
    const released = new Set(
      [...after]
        .filter(([name, each]) => before.get(name)?.manifest.version !== each.manifest.version)
        .map(([name]) => name),
    );
    for (const [name, each] of after) {
      if (each.manifest.private) continue;
      const releasedDependencies = Object.keys(each.manifest.dependencies ?? {}).filter((dependency) =>
        released.has(dependency),
      );
      if (releasedDependencies.length === 0) continue;
      expect(released.has(name), `${name} depends on a released package`).toBe(true);
      const changelog = await changelogOf(root, each);
      for (const dependency of releasedDependencies) {
        expect(changelog, name).toContain(`${dependency}@${versionOf(after, dependency)}`);
      }
    }
  });

  it('leaves every private package unversioned, and the config ignores each of them', async () => {
    const config = JSON.parse(await readFile(join(root, '.changeset/config.json'), 'utf8')) as {
      ignore: string[];
    };
    for (const [name, original] of before) {
      if (!original.manifest.private) continue;
      expect(versionOf(after, name), name).toBe(original.manifest.version);
      expect(existsSync(join(root, original.relativeFolder, 'CHANGELOG.md')), `${name} CHANGELOG.md`).toBe(
        false,
      );
      expect(config.ignore, 'changesets ignore list').toContain(name);
    }
  });
});

describe('a later minor release of @keyless/core alone', () => {
  const root = join(workFolder, 'core-minor');
  let released: Map<string, WorkspacePackage>;
  let after: Map<string, WorkspacePackage>;
  let run: { exitCode: number; output: string };

  beforeAll(async () => {
    await copyRepository(root);
    const first = await runChangesetVersion(root);
    if (first.exitCode !== 0) throw new Error(first.output);
    released = byName(findWorkspacePackages(root));
    await writeFile(
      join(root, '.changeset/core-next.md'),
      "---\n'@keyless/core': minor\n---\n\nA new core feature.\n",
    );
    run = await runChangesetVersion(root);
    after = byName(findWorkspacePackages(root));
  });

  it('bumps core and gives each published dependent a patch release naming the new core', async () => {
    expect(run.exitCode, run.output).toBe(0);
    const core = versionOf(after, '@keyless/core');
    expect(core).toBe(semver.inc(versionOf(released, '@keyless/core'), 'minor'));
    const dependents = dependentsOf([...released.values()], new Set(['@keyless/core']));
    expect(dependents.size).toBeGreaterThan(0);
    for (const [name, each] of released) {
      if (name === '@keyless/core') continue;
      const expected = dependents.has(name)
        ? semver.inc(each.manifest.version, 'patch')
        : each.manifest.version;
      expect(versionOf(after, name), name).toBe(expected);
    }
    for (const name of dependents) {
      const dependent = after.get(name);
      if (!dependent) throw new Error(`${name} is missing`);
      const changelog = await changelogOf(root, dependent);
      expect(changelog.split('\n## ')[1], `${name}'s newest entry`).toContain('Updated dependencies');
    }
    const coreDependents = [...dependents].filter(
      (name) => '@keyless/core' in (after.get(name)?.manifest.dependencies ?? {}),
    );
    for (const name of coreDependents) {
      const dependent = after.get(name);
      if (dependent) expect(await changelogOf(root, dependent), name).toContain(`@keyless/core@${core}`);
    }
  });
});
