import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingBinaryError } from './launcher-errors.js';

/** Where to look; the defaults are Debian's layout and PATH. Tests point them at empty folders. */
export interface BinarySearchOptions {
  debianPostgresRoot?: string;
  pathFolders?: readonly string[];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathFolders(options: BinarySearchOptions): readonly string[] {
  return options.pathFolders ?? (process.env.PATH ?? '').split(delimiter).filter((folder) => folder !== '');
}

function hasPostgresBinaries(folder: string): boolean {
  return isExecutable(join(folder, 'initdb')) && isExecutable(join(folder, 'postgres'));
}

/**
 * The folder holding initdb and postgres. Debian's versioned folder comes first, highest version
 * first: the wrappers some images put on PATH (pg_wrapper, /usr/local/bin shims) choose a cluster
 * by themselves, which is not what a private instance wants.
 */
export function findPostgresBinFolder(options: BinarySearchOptions = {}): string {
  const debianRoot = options.debianPostgresRoot ?? '/usr/lib/postgresql';
  const searched: string[] = [];
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((entry) => /^\d+$/.test(entry))
      .sort((left, right) => Number(right) - Number(left));
    for (const version of versions) {
      const folder = join(debianRoot, version, 'bin');
      searched.push(folder);
      if (hasPostgresBinaries(folder)) return folder;
    }
  }
  if (searched.length === 0) searched.push(join(debianRoot, '*', 'bin'));
  for (const folder of pathFolders(options)) {
    searched.push(folder);
    if (hasPostgresBinaries(folder)) return folder;
  }
  throw new MissingBinaryError('initdb and postgres', 'postgresql', searched);
}

export function findRedisServer(options: BinarySearchOptions = {}): string {
  const folders = pathFolders(options);
  for (const folder of folders) {
    const candidate = join(folder, 'redis-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new MissingBinaryError(
    'redis-server',
    'redis-server',
    folders.length > 0 ? folders : ['PATH (empty)'],
  );
}
