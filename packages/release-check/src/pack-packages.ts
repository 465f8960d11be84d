import { join } from 'node:path';
import { execa } from 'execa';
import type { WorkspacePackage } from './workspace-packages.ts';

export interface PackedPackage {
  name: string;
  version: string;
  /** The package's folder in the workspace. */
  folder: string;
  /** Absolute path of the .tgz. */
  tarball: string;
}

/**
 * `pnpm pack` is what `pnpm publish` uploads: it replaces `workspace:` and `catalog:` ranges with
 * real ones and applies `files`. Packing runs each package's own pack lifecycle, never a build:
 * turbo builds first.
 */
export async function packPackage(
  workspacePackage: WorkspacePackage,
  destination: string,
): Promise<PackedPackage> {
  const result = await execa('pnpm', ['pack', '--pack-destination', destination, '--json'], {
    cwd: workspacePackage.folder,
    reject: false,
    all: true,
  });
  if (result.exitCode !== 0) {
    throw new Error(
      `pnpm pack failed for ${workspacePackage.name} (exit ${result.exitCode}):\n${result.all}`,
    );
  }
  const report = JSON.parse(result.stdout) as { name: string; version: string; filename: string };
  return {
    name: report.name,
    version: report.version,
    folder: workspacePackage.folder,
    tarball: report.filename.startsWith('/') ? report.filename : join(destination, report.filename),
  };
}
