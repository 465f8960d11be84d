import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { type PackedPackage, packPackage } from './pack-packages.ts';
import { findPublishedPackages } from './workspace-packages.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A folder under the system temp folder, outside the repository (no pnpm-workspace.yaml above it). */
    releaseCheckFolder: string;
    packedPackages: PackedPackage[];
  }
}

/**
 * Packs every published package once, before the test files fork, so that the install, metadata
 * and tarball checks all look at the same tarballs. Teardown removes the temp folder.
 */
export default async function packTarballs(project: TestProject): Promise<() => Promise<void>> {
  const folder = await mkdtemp(join(tmpdir(), 'keyless-release-check-'));
  const tarballs = join(folder, 'tarballs');
  await mkdir(tarballs);
  const packed = await Promise.all(findPublishedPackages().map((each) => packPackage(each, tarballs)));
  project.provide('releaseCheckFolder', folder);
  project.provide('packedPackages', packed);
  return async () => {
    await rm(folder, { recursive: true, force: true });
  };
}
