import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { packageBin } from './package-bin.ts';
import { repositoryRoot } from './workspace-packages.ts';

/** The committed API reference: what `pnpm docs:api` writes. */
export const committedApiFolder = join(repositoryRoot, 'docs/api');

/**
 * TypeDoc with the repository's typedoc.json (warnings are errors there), writing to `outputFolder`
 * instead of docs/api.
 */
export async function generateApiReference(
  outputFolder: string,
): Promise<{ exitCode: number; output: string }> {
  const result = await execa(
    process.execPath,
    [
      packageBin('typedoc', 'typedoc'),
      '--options',
      join(repositoryRoot, 'typedoc.json'),
      '--out',
      outputFolder,
    ],
    { cwd: repositoryRoot, reject: false, all: true, env: { FORCE_COLOR: '0', NO_COLOR: '1' } },
  );
  return { exitCode: result.exitCode ?? 1, output: result.all ?? '' };
}

async function readTree(folder: string): Promise<Map<string, string>> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  const files = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(folder, path), await readFile(path, 'utf8'));
  }
  return files;
}

/** How the committed reference differs from a fresh one: files not committed, out of date, or no longer generated. */
export async function compareTrees(generatedFolder: string, committedFolder: string): Promise<string[]> {
  const [generated, committed] = await Promise.all([readTree(generatedFolder), readTree(committedFolder)]);
  const differences: string[] = [];
  for (const [path, text] of generated) {
    if (!committed.has(path)) differences.push(`not committed: ${path}`);
    else if (committed.get(path) !== text) differences.push(`out of date: ${path}`);
  }
  for (const path of committed.keys())
    if (!generated.has(path)) differences.push(`no longer generated: ${path}`);
  return differences.sort();
}
