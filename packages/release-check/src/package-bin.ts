import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The JavaScript file behind a dependency's command, to run with `process.execPath`: a `#!/usr/bin/env
 * node` shim would pick whichever Node is first on PATH.
 */
export function packageBin(packageName: string, command: string): string {
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[command];
  if (!bin) throw new Error(`${packageName} has no "${command}" command`);
  return join(dirname(manifestPath), bin);
}
