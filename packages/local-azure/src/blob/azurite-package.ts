import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MissingPackageError } from '../processes/launcher-errors.js';

/**
 * Azurite is an optional peer dependency: with its tree it is ~400 packages and ~250 MB, which
 * users who only want the identity endpoint, Key Vault, SQL, PostgreSQL or Redis should not pay for.
 * The range users are told to install is the one package.json declares (src/ and dist/ both sit
 * two folders below it), so the message and the manifest cannot disagree.
 */
export function azuritePeerRange(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    peerDependencies?: Record<string, string>;
  };
  const range = manifest.peerDependencies?.azurite;
  if (!range) throw new Error('@keyless/local-azure: package.json declares no azurite peer range');
  return range;
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

/**
 * The path of Azurite's Blob service entry point, resolved the way Node resolves a dependency of
 * this package (`resolveFrom` is where resolution starts; tests point it at a folder with no
 * node_modules). Throws `MissingPackageError` with the install command when Azurite is not there.
 */
export function resolveAzuriteBlobMain(resolveFrom: string | URL = import.meta.url): string {
  let manifestPath: string;
  try {
    manifestPath = createRequire(resolveFrom).resolve('azurite/package.json');
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    throw new MissingPackageError('azurite', azuritePeerRange(), 'Blob (Azurite)', { cause: error });
  }
  return join(dirname(manifestPath), 'dist', 'src', 'blob', 'main.js');
}
