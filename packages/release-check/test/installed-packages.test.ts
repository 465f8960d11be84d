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
import { checkConsumerCoverage } from '../src/public-exports.ts';
import { findLeaks } from '../src/secret-leaks.ts';
import { userShellEnvironment } from '../src/user-shell-environment.ts';

const packed = inject('packedPackages');
const projectFolder = join(inject('releaseCheckFolder'), 'consumer-project');

/** The smoke script runs as a fresh user process: nothing of this run's trust or identity settings. */
function freshUserEnvironment(): NodeJS.ProcessEnv {
  const environment = userShellEnvironment();
  for (const name of Object.keys(environment)) {
    if (/^(NODE_EXTRA_CA_CERTS|NODE_OPTIONS|IDENTITY_|MSI_|AZURE_|KEYLESS_|VITEST)/.test(name))
      delete environment[name];
  }
  return environment;
}

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
    const result = await execa(process.execPath, ['smoke.mjs'], {
      cwd: projectFolder,
      env: freshUserEnvironment(),
      extendEnv: false,
      reject: false,
      all: true,
    });
    const output = result.all ?? '';
    console.log(output);
    expect(findLeaks(output)).toEqual([]);
    expect(result.exitCode, output).toBe(0);
    const expectedLines = [
      /^smoke: stack started: identity, keyvault, blob, sql, postgres, redis$/m,
      /^smoke: token from azure-identity: Bearer, expires in \d+ min$/m,
      /^smoke: token from msal: Bearer, expires in \d+ min$/m,
      /^smoke: blob release-check\/smoke\.txt written and read back \(\d+ bytes\)$/m,
      /^smoke: secret demo-message read through a secret source \(\d+ characters\)$/m,
      /^smoke: sql SELECT SUSER_SNAME\(\) = \S+$/m,
      /^smoke: postgres SELECT current_user, 6 \* 7 = \S+, 42$/m,
      /^smoke: redis INCR release-check:smoke = \d+$/m,
      /^smoke: stack stopped$/m,
    ];
    for (const line of expectedLines) expect(output).toMatch(line);
    expect(output).not.toMatch(/FAILED/);
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
