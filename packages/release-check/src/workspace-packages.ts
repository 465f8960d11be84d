import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** The monorepo root: this file lives in packages/release-check/src. */
export const repositoryRoot = resolve(import.meta.dirname, '../../..');

/** The package.json fields the checks read. */
export interface PackageManifest {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  license?: string;
  type?: string;
  sideEffects?: boolean;
  keywords?: string[];
  files?: string[];
  types?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  /** e.g. `@keyless/core`. */
  name: string;
  /** Absolute path of the package folder. */
  folder: string;
  /** The folder relative to the repository root, e.g. `packages/core`. */
  relativeFolder: string;
  manifest: PackageManifest;
}

export function readManifest(folder: string): PackageManifest {
  return JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as PackageManifest;
}

/** Every package under packages/ and apps/ (the workspace globs), in folder order. */
export function findWorkspacePackages(root = repositoryRoot): WorkspacePackage[] {
  const packages: WorkspacePackage[] = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const folder = join(root, group, entry.name);
      let manifest: PackageManifest;
      try {
        manifest = readManifest(folder);
      } catch {
        continue; // a folder without package.json is not a workspace package
      }
      packages.push({ name: manifest.name, folder, relativeFolder: `${group}/${entry.name}`, manifest });
    }
  }
  return packages;
}

/** The packages users install from npm: everything in the workspace not marked private. */
export function findPublishedPackages(root = repositoryRoot): WorkspacePackage[] {
  return findWorkspacePackages(root).filter((workspacePackage) => workspacePackage.manifest.private !== true);
}

/** The one version of each shared dependency (pnpm-workspace.yaml `catalog:`). */
export function readCatalog(root = repositoryRoot): Record<string, string> {
  const workspace = parse(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')) as {
    catalog?: Record<string, string>;
  };
  return workspace.catalog ?? {};
}

export function catalogVersion(catalog: Record<string, string>, name: string): string {
  const version = catalog[name];
  if (!version) throw new Error(`${name} has no version in the pnpm-workspace.yaml catalog`);
  return version;
}
