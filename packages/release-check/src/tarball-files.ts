import { mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { extract } from 'tar';

/** Unpacks a tarball as npm does (its single `package/` folder stripped) and lists its files. */
export async function unpackTarball(tarball: string, destination: string): Promise<string[]> {
  await mkdir(destination, { recursive: true });
  await extract({ file: tarball, cwd: destination, strip: 1 });
  const entries = await readdir(destination, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(destination, join(entry.parentPath, entry.name)))
    .sort();
}
