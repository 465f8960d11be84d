import { copyFile, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { packageBin } from './package-bin.ts';
import { repositoryRoot } from './workspace-packages.ts';

export type BumpType = 'major' | 'minor' | 'patch';

export interface Changeset {
  file: string;
  releases: Record<string, BumpType>;
  /** The text that goes into the CHANGELOG. */
  summary: string;
}

/**
 * A copy of the repository as git sees it (tracked files, plus new ones not ignored, so a changeset
 * not committed yet is checked too), with the workspace's node_modules linked in for the changelog
 * generator. `changeset version` rewrites package.json files and changelogs, so it never runs on
 * the real checkout.
 */
export async function copyRepository(destination: string): Promise<void> {
  const listing = await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repositoryRoot,
  });
  const files = listing.stdout.split('\0').filter((file) => file.length > 0);
  await Promise.all(
    files.map(async (file) => {
      await mkdir(dirname(join(destination, file)), { recursive: true });
      await copyFile(join(repositoryRoot, file), join(destination, file)).catch(
        (error: NodeJS.ErrnoException) => {
          // Deleted in the working tree but not yet in the index: not part of what would be committed.
          if (error.code !== 'ENOENT') throw error;
        },
      );
    }),
  );
  await symlink(join(repositoryRoot, 'node_modules'), join(destination, 'node_modules'), 'dir');
}

/** The pending changesets in `.changeset/` (every .md but a README). */
export async function readChangesets(root: string): Promise<Changeset[]> {
  const folder = join(root, '.changeset');
  const names = (await readdir(folder)).filter((name) => name.endsWith('.md') && name !== 'README.md');
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(folder, name), 'utf8');
      const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n([\s\S]*)$/.exec(text);
      if (!match) throw new Error(`.changeset/${name} has no front matter`);
      const releases = (parse(match[1] ?? '') ?? {}) as Record<string, BumpType>;
      return { file: name, releases, summary: (match[2] ?? '').trim() };
    }),
  );
}

/** `changeset version` in `root`, with this Node: no publish, no git. */
export async function runChangesetVersion(root: string): Promise<{ exitCode: number; output: string }> {
  const result = await execa(process.execPath, [packageBin('@changesets/cli', 'changeset'), 'version'], {
    cwd: root,
    reject: false,
    all: true,
    env: { CI: 'true' },
  });
  return { exitCode: result.exitCode ?? 1, output: result.all ?? '' };
}
