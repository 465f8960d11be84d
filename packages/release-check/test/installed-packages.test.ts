import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createConsumerProject,
  type InstallResult,
  installConsumerProject,
  installedKeylessPackages,
  peerVersions,
} from '../src/consumer-project.ts';
import { credentialCensus, formatCensus, type UsedSecrets } from '../src/credential-census.ts';
import { checkConsumerCoverage } from '../src/public-exports.ts';
import { findLeaks } from '../src/secret-leaks.ts';
import { missingSmokeLines, runSmoke, smokeSummary } from '../src/smoke-run.ts';
import { userShellEnvironment } from '../src/user-shell-environment.ts';

const packed = inject('packedPackages');

/** The kinds of credential the libraries print with DEBUG=* NODE_DEBUG=https,net (observed; see the test). */
const debugOutputCredentials = ['Redis password', 'X-IDENTITY-HEADER', 'bearer token (JWT)'];
const projectFolder = join(inject('releaseCheckFolder'), 'consumer-project');

describe('the packed packages, installed from their tarballs the way a user installs them', () => {
  let install: InstallResult;

  beforeAll(async () => {
    const peers = peerVersions(packed);
    await createConsumerProject(projectFolder, packed, peers);
    install = await installConsumerProject(projectFolder);
    // A measurement for the report, not an assertion: npm's speed depends on its cache and the network.
    console.log(
      `npm install (${packed.length} tarballs + peers): ${(install.durationMs / 1000).toFixed(1)} s`,
    );
  });

  it('installs with npm from the tarballs and, for everything else, the registry', () => {
    expect(install.exitCode, install.output).toBe(0);
  });

  it('takes every @keyless package from a local tarball and none from the registry', async () => {
    const installed = await installedKeylessPackages(projectFolder);
    const fromElsewhere = installed.filter(
      (entry) => !entry.resolved?.startsWith('file:') || !entry.resolved.endsWith('.tgz'),
    );
    expect(fromElsewhere).toEqual([]);
    const installedNames = new Set(installed.map((entry) => entry.path.replace(/^.*node_modules\//, '')));
    expect([...installedNames].sort()).toEqual(packed.map((each) => each.name).sort());
    for (const entry of installed) {
      const tarball = packed.find((each) => entry.path.endsWith(`node_modules/${each.name}`));
      expect(entry.version, entry.path).toBe(tarball?.version);
    }
  });

  it('uses every public export of every published package in consumer.ts', () => {
    const coverage = checkConsumerCoverage(
      projectFolder,
      join(projectFolder, 'consumer.ts'),
      packed.map((each) => each.name),
    );
    expect(coverage.problems).toEqual([]);
    // Sanity: the exports were really read from the installed declarations (a connector factory each).
    expect(coverage.exports.filter((each) => each.name.startsWith('create')).length).toBeGreaterThanOrEqual(
      6,
    );
    const unused = coverage.unused.map((each) => `${each.packageName} ${each.name} (${each.kind})`);
    expect(unused, 'public exports consumer.ts does not use: add a use of each').toEqual([]);
  });

  it('type-checks consumer.ts against the installed packages (strict, module nodenext)', async () => {
    const result = await execa(
      process.execPath,
      [join(projectFolder, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      { cwd: projectFolder, reject: false, all: true },
    );
    expect(result.all, 'tsc output').toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('runs the smoke script against the local stack started from the installed @keyless/local-azure', async () => {
    const { exitCode, output } = await runSmoke(projectFolder);
    // Printed only when it holds no token or secret (the assertion below names what leaked).
    const leaks = findLeaks(output);
    if (leaks.length === 0) console.log(output);
    expect(leaks).toEqual([]);
    expect(exitCode, output).toBe(0);
    expect(missingSmokeLines(output)).toEqual([]);
    expect(output).not.toMatch(/FAILED/);
  });

  it('with DEBUG=* NODE_DEBUG=https,net NODE_ENV=production: warns, and the libraries print these credentials', async () => {
    // The output holds credentials by design: it is never printed, and no assertion below shows it.
    const secretsFile = join(inject('releaseCheckFolder'), 'debug-run-secrets.json');
    const { exitCode, output } = await runSmoke(projectFolder, {
      env: {
        DEBUG: '*',
        NODE_DEBUG: 'https,net',
        NODE_ENV: 'production',
        KEYLESS_SMOKE_SECRETS_FILE: secretsFile,
      },
    });
    // The smoke's own lines hold no credential (the normal run proves it); the libraries' lines may.
    const summary = smokeSummary(output);
    expect(exitCode, summary).toBe(0);
    const used = JSON.parse(await readFile(secretsFile, 'utf8')) as UsedSecrets;
    await rm(secretsFile, { force: true });
    const census = credentialCensus(output, used);
    console.log(
      `debug output of one smoke run (${output.length} characters), credentials in it:\n${formatCensus(census)}`,
    );
    expect(missingSmokeLines(output), summary).toEqual([]);
    expect(output.includes('[KEYLESS_DEBUG_OUTPUT]'), 'the KEYLESS_DEBUG_OUTPUT warning').toBe(true);
    // What keyless cannot prevent once a user turns these on. A change here is news: update the
    // README's "Supported versions" debug paragraph with the new table.
    expect(
      census
        .filter((row) => row.count > 0)
        .map((row) => row.kind)
        .sort(),
    ).toEqual(debugOutputCredentials);
  });

  it('runs the installed keyless-local command', async () => {
    const result = await execa(join(projectFolder, 'node_modules/.bin/keyless-local'), ['--help'], {
      cwd: projectFolder,
      env: userShellEnvironment(),
      extendEnv: false,
      reject: false,
      all: true,
    });
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/^Usage: keyless-local/m);
    expect(result.stdout).toMatch(/^\s+up\b/m);
    expect(result.stdout).toMatch(/^\s+down\b/m);
  });
});
