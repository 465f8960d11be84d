import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { azuritePeerRange, resolveAzuriteBlobMain } from '../src/blob/azurite-package.js';

const run = promisify(execFile);
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const cli = fileURLToPath(new URL('../bin/keyless-local.js', import.meta.url));
const workFolder = mkdtempSync(join(tmpdir(), 'keyless-no-azurite-'));
const expectedCommand = `npm install --save-dev azurite@${manifest.peerDependencies?.azurite}`;

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

describe('Azurite, an optional peer dependency', () => {
  it('is declared as an optional peer, not a dependency, so installing the package does not pull it', () => {
    expect(manifest.dependencies?.azurite).toBeUndefined();
    expect(manifest.peerDependencies?.azurite).toMatch(/^\^3\./);
    expect(manifest.peerDependenciesMeta?.azurite?.optional).toBe(true);
    expect(azuritePeerRange()).toBe(manifest.peerDependencies?.azurite);
  });

  it('resolves from this package when it is installed (the workspace has it as a devDependency)', () => {
    expect(resolveAzuriteBlobMain()).toMatch(/azurite[\\/]dist[\\/]src[\\/]blob[\\/]main\.js$/);
  });

  it('names the install command when Node cannot resolve it from where the package sits', async () => {
    // Node's own resolution from a folder with no node_modules holding azurite: what a user without
    // it has. The child runs without the NODE_PATH pnpm's vitest shim sets (it reaches every package
    // in the store) — a user's shell does not have it.
    const { NODE_PATH: _storePaths, ...userEnvironment } = process.env;
    const { stdout } = await run(process.execPath, [fixture('resolve-azurite-from.mjs'), workFolder], {
      env: userEnvironment,
      timeout: 30_000,
    });
    const { error } = JSON.parse(stdout) as { error?: Record<string, string> };
    expect(error).toMatchObject({
      name: 'MissingPackageError',
      code: 'missing-package',
      packageName: 'azurite',
      installCommand: expectedCommand,
    });
    expect(error?.message).toMatch(/^Blob \(Azurite\) needs the npm package azurite/);
    expect(error?.message).toContain(`Install it with: ${expectedCommand}`);
  });

  it('fails startLocalAzure and startAzurite with MissingPackageError before starting anything', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', fixture('without-azurite.mjs'), fixture('start-blob-without-azurite.mjs'), workFolder],
      { timeout: 30_000 },
    );
    const results = stdout
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { way: string; error?: Record<string, string>; progress?: unknown[] },
      );
    expect(results.map((result) => result.way)).toEqual(['startLocalAzure', 'startAzurite']);
    for (const result of results) {
      expect(result.error, result.way).toMatchObject({
        name: 'MissingPackageError',
        code: 'missing-package',
        installCommand: expectedCommand,
      });
    }
    // Not even the identity endpoint was started and stopped again.
    expect(results[0]?.progress).toEqual([]);
  });

  it('makes `keyless-local up blob` exit 1 with the install command and nothing started', async () => {
    const result = await run(
      process.execPath,
      ['--import', fixture('without-azurite.mjs'), cli, 'up', 'blob', '--state', join(workFolder, 'state')],
      { cwd: workFolder, timeout: 30_000 },
    ).then(
      () => ({ exitCode: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ exitCode: error.code, stderr: error.stderr ?? '' }),
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`keyless-local: Blob (Azurite) needs the npm package azurite`);
    expect(result.stderr).toContain(expectedCommand);
    expect(result.stderr).not.toMatch(/identity\s+starting/);
  });
});
