import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolchainEnvironment, userNpmGlobalConfig } from '../../../scripts/user-environment.mjs';
import { userShellEnvironment } from '../src/user-shell-environment.ts';
import { environmentInsideTurboTask, rootTurboFlags } from './support/script-environment.ts';
import { probePackage, type StubRegistry, startStubRegistry } from './support/stub-registry.ts';
import { cleanUserShell, toolchainBin } from './support/user-shell.ts';

type Environment = Record<string, string | undefined>;

/**
 * What the code before this change built, kept here as the control rows: quickstart put the
 * toolchain first on PATH and nothing else; turbo ran in its default (strict) environment mode;
 * the release check kept only an allowlist of npm settings.
 */
const before = {
  quickstart: (environment: Environment): Environment => ({
    ...environment,
    PATH: `${toolchainBin}${delimiter}${environment.PATH ?? ''}`,
    TURBO_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
    npm_config_update_notifier: 'false',
  }),
  turboFlags: [] as string[],
  userShell: (environment: Environment): Environment => {
    const result: Environment = {
      ...environment,
      PATH: `${dirname(process.execPath)}:${environment.PATH ?? ''}`,
    };
    for (const name of Object.keys(result)) {
      if (
        /^(npm_|pnpm_)/i.test(name) &&
        !/^npm_config_(registry|proxy|https_proxy|noproxy|cafile|cache)$/i.test(name)
      )
        delete result[name];
    }
    return result;
  },
};

const after = {
  quickstart: (environment: Environment, systemPrefix: string): Environment =>
    toolchainEnvironment(environment, {
      toolchainBin,
      // The system npm asked for real, with PREFIX standing in for where the system's Node lives.
      npmGlobalConfig: () =>
        userNpmGlobalConfig(
          { ...environment, PREFIX: systemPrefix },
          { excludeNode: join(toolchainBin, 'node') },
        ),
    }),
  turboFlags: rootTurboFlags(),
  userShell: (environment: Environment): Environment => userShellEnvironment(environment),
};

interface Row {
  trust: 'global npmrc cafile' | 'NODE_EXTRA_CA_CERTS';
  code: 'before' | 'after';
  exitCode: number;
  installed: boolean;
  certificateRefused: boolean;
}

/**
 * The user's npm trusts the registry's CA either through its global config (`cafile=` in
 * <prefix>/etc/npmrc, Debian's /usr/etc/npmrc behind a TLS-inspecting proxy) or through
 * NODE_EXTRA_CA_CERTS. Each row goes the way `npm test` goes: quickstart's environment, turbo
 * running the release check's task (turbo → pnpm run), the release check's environment for npm, then
 * `npm install` under our toolchain's Node with an empty cache from a stub HTTPS registry.
 */
describe('the user’s CA settings reach npm inside the release check', () => {
  let folder: string;
  let registry: StubRegistry;
  const rows: Row[] = [];

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keyless-registry-trust-'));
    registry = await startStubRegistry(join(folder, 'registry'));
  });

  afterAll(async () => {
    console.log(['trust through         code    npm install', ...rows.map(describeRow)].join('\n'));
    await registry?.close();
    await rm(folder, { recursive: true, force: true });
  });

  function describeRow(row: Row): string {
    const outcome = row.installed
      ? 'installed'
      : row.certificateRefused
        ? 'certificate refused'
        : `exit ${row.exitCode}`;
    return `${row.trust.padEnd(22)}${row.code.padEnd(8)}${outcome}`;
  }

  async function installThrough(trust: Row['trust'], code: Row['code']): Promise<Row> {
    const rowFolder = join(folder, `${trust.replace(/\W+/g, '-')}-${code}`);
    const systemPrefix = join(rowFolder, 'system-prefix');
    await mkdir(join(systemPrefix, 'etc'), { recursive: true });
    const user = cleanUserShell(rowFolder);
    if (trust === 'global npmrc cafile') {
      await writeFile(join(systemPrefix, 'etc', 'npmrc'), `cafile=${registry.caPath}\n`);
    } else {
      user.NODE_EXTRA_CA_CERTS = registry.caPath;
    }
    const steps = code === 'before' ? before : after;
    const quickstart = code === 'before' ? before.quickstart(user) : after.quickstart(user, systemPrefix);
    const insideTask = await environmentInsideTurboTask(
      join(rowFolder, 'workspace'),
      quickstart,
      steps.turboFlags,
    );
    const project = join(rowFolder, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(
      join(project, 'package.json'),
      '{"name":"trust-check","version":"1.0.0","private":true}\n',
    );
    const result = await execa(
      'npm',
      [
        'install',
        `${probePackage.name}@${probePackage.version}`,
        `--registry=${registry.url}`,
        `--cache=${join(rowFolder, 'empty-cache')}`,
        '--fetch-retries=0',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: project, env: steps.userShell(insideTask), extendEnv: false, reject: false, all: true },
    );
    const output = result.all ?? '';
    const row: Row = {
      trust,
      code,
      exitCode: result.exitCode ?? 1,
      installed: result.exitCode === 0 && output.includes('added 1 package'),
      certificateRefused:
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN/.test(output),
    };
    rows.push(row);
    return row;
  }

  it.each(['global npmrc cafile', 'NODE_EXTRA_CA_CERTS'] as const)(
    'trusted only through %s: npm installs through our environment code',
    async (trust) => {
      const row = await installThrough(trust, 'after');
      expect(row).toMatchObject({ exitCode: 0, installed: true, certificateRefused: false });
    },
  );

  it.each(['global npmrc cafile', 'NODE_EXTRA_CA_CERTS'] as const)(
    'trusted only through %s: the environment the code before this change built loses the CA',
    async (trust) => {
      const served = registry.served.length;
      const row = await installThrough(trust, 'before');
      expect(row).toMatchObject({ installed: false, certificateRefused: true });
      expect(row.exitCode).not.toBe(0);
      expect(registry.served.length, 'nothing is served to a client that refused the certificate').toBe(
        served,
      );
    },
  );

  it('runs turbo with the flags of the root release:check script', () => {
    // The rows above prove what these flags do; this names the one that matters.
    expect(rootTurboFlags()).toContain('--env-mode=loose');
    expect(rootTurboFlags('test:all')).toContain('--env-mode=loose');
  });
});
