import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isScriptVariable, toolchainEnvironment } from '../../../scripts/user-environment.mjs';
import { userShellEnvironment } from '../src/user-shell-environment.ts';
import {
  environmentInsidePnpmRun,
  environmentInsideTurboTask,
  rootTurboFlags,
} from './support/script-environment.ts';
import { cleanUserShell, toolchainBin } from './support/user-shell.ts';

type Environment = Record<string, string | undefined>;

/** Settings a user may have in their shell; each must reach npm as it is. */
const userSettings: Environment = {
  NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/user-bundle.pem',
  SSL_CERT_FILE: '/etc/ssl/certs/user-bundle.pem',
  HTTPS_PROXY: 'http://proxy.example.invalid:3128',
  https_proxy: 'http://proxy.example.invalid:3128',
  NO_PROXY: 'localhost,127.0.0.1,.internal.example',
  npm_config_cafile: '/etc/ssl/certs/user-bundle.pem',
  npm_config_strict_ssl: 'true',
  npm_config_https_proxy: 'http://proxy.example.invalid:3128',
  npm_config_fetch_timeout: '120000',
  npm_config_maxsockets: '7',
  PNPM_HOME: '/home/user/.local/share/pnpm',
};

describe('userShellEnvironment: the user’s environment for npm, from inside a pnpm/turbo script', () => {
  let folder: string;
  let user: Environment;
  const globalConfig = '/usr/etc/npmrc-of-the-user';

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keyless-user-shell-'));
    user = cleanUserShell(folder, userSettings);
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  function differences(result: Environment, expected: Environment): string[] {
    const names = new Set([...Object.keys(result), ...Object.keys(expected)]);
    return [...names].filter((name) => result[name] !== expected[name]).sort();
  }

  it('keeps every variable of the user’s and removes only what pnpm set for the script (pnpm run)', async () => {
    const started = toolchainEnvironment(user, { toolchainBin, npmGlobalConfig: () => globalConfig });
    const inside = await environmentInsidePnpmRun(join(folder, 'pnpm-run'), started);
    // pnpm really set variables for the script, among them its own rc file as npm's global config.
    expect(Object.keys(inside).filter((name) => isScriptVariable(name, inside[name])).length).toBeGreaterThan(
      5,
    );
    expect(inside.npm_config_globalconfig).not.toBe(globalConfig);

    const result = userShellEnvironment(inside);
    const expected = { ...started, npm_config_globalconfig: globalConfig };
    // Whatever else differs is PATH (pnpm's node_modules/.bin folders first), PWD (the script's
    // folder), and npm settings as pnpm re-exports them: the ones from the npmrc files it read (npm
    // reads the same files anyway), and `false` written as an empty value (which npm ignores, so
    // the default applies: pnpm's doing, which no code after it can undo).
    const other = differences(result, expected).filter((name) => !['PATH', 'PWD'].includes(name));
    const reExported = other.filter(
      (name) => /^npm_config_/i.test(name) && (!(name in expected) || inside[name] === ''),
    );
    expect(other.filter((name) => !reExported.includes(name))).toEqual([]);
    for (const name of reExported) expect(result[name], name).toBe(inside[name]);
    expect(result.PATH?.split(delimiter)[0]).toBe(join(process.execPath, '..'));
    expect(result.PATH?.endsWith(started.PATH ?? '')).toBe(true);
  });

  it('keeps every variable of the user’s inside a turbo task with the root scripts’ flags', async () => {
    const started = toolchainEnvironment(user, { toolchainBin, npmGlobalConfig: () => globalConfig });
    const inside = await environmentInsideTurboTask(join(folder, 'turbo'), started, rootTurboFlags());
    const result = userShellEnvironment(inside);
    for (const [name, value] of Object.entries(userSettings)) expect(result[name], name).toBe(value);
    expect(result.npm_config_globalconfig).toBe(globalConfig);
    expect(Object.keys(result).filter((name) => isScriptVariable(name, result[name]))).toEqual([]);
  });

  it('passes the user’s own npm_config_globalconfig on, and asks npm only when there is none', () => {
    let asked = 0;
    const ask = () => {
      asked += 1;
      return '/from/the/probe';
    };
    const own = toolchainEnvironment(
      { ...user, NPM_CONFIG_GLOBALCONFIG: '/mine/npmrc' },
      { toolchainBin, npmGlobalConfig: ask },
    );
    expect(asked).toBe(0);
    expect(own.NPM_CONFIG_GLOBALCONFIG).toBe('/mine/npmrc');
    expect(own.npm_config_globalconfig).toBeUndefined();
    expect(own.KEYLESS_NPM_GLOBALCONFIG).toBe('/mine/npmrc');
    const probed = toolchainEnvironment(user, { toolchainBin, npmGlobalConfig: ask });
    expect(asked).toBe(1);
    expect(probed.npm_config_globalconfig).toBe('/from/the/probe');
    expect(probed.PATH?.split(delimiter)[0]).toBe(toolchainBin);
    expect(probed.PATH?.endsWith(user.PATH ?? '')).toBe(true);
  });

  it('asks the user’s npm, run by the user’s Node, where its global config is', async () => {
    const { userNpmGlobalConfig } = await import('../../../scripts/user-environment.mjs');
    const prefix = join(folder, 'system-prefix');
    await mkdir(join(prefix, 'etc'), { recursive: true });
    await writeFile(join(prefix, 'etc', 'npmrc'), '');
    // Our toolchain's Node first on PATH, as when a user put it there: it must not be the one asked.
    const environment = { ...user, PREFIX: prefix, PATH: `${toolchainBin}${delimiter}${user.PATH}` };
    expect(userNpmGlobalConfig(environment, { excludeNode: join(toolchainBin, 'node') })).toBe(
      join(prefix, 'etc', 'npmrc'),
    );
    const withoutPrefix = { ...user, PATH: `${toolchainBin}${delimiter}${user.PATH}` };
    expect(userNpmGlobalConfig(withoutPrefix, { excludeNode: join(toolchainBin, 'node') })).not.toMatch(
      /tools\/toolchain/,
    );
  });
});
