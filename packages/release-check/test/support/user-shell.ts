import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isScriptVariable, pathWithoutNode } from '../../../../scripts/user-environment.mjs';
import { repositoryRoot } from '../../src/workspace-packages.ts';

type Environment = Record<string, string | undefined>;

/** tools/toolchain/node_modules/.bin: where quickstart puts our Node and pnpm. */
export const toolchainBin = join(repositoryRoot, 'tools', 'toolchain', 'node_modules', '.bin');

/**
 * A user's shell before `npm test`: this process's environment without what the package managers
 * set for the running script, without our toolchain on PATH, without any npm setting or CA bundle
 * (each test adds the one it is about), and with an empty user npmrc so this machine's ~/.npmrc
 * plays no part.
 */
export function cleanUserShell(folder: string, extra: Environment = {}): Environment {
  const userConfig = join(folder, 'user-npmrc');
  writeFileSync(userConfig, '');
  const environment: Environment = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (isScriptVariable(name, value) || /^npm_config_/i.test(name) || /^KEYLESS_/.test(name)) continue;
    // The CA bundle is each test's subject; the rest is the test runner's, not a user's.
    if (/^(NODE_EXTRA_CA_CERTS|NODE_OPTIONS|NODE_ENV|TEST|VITEST.*)$/.test(name)) continue;
    environment[name] = value;
  }
  environment.PATH = pathWithoutNode(process.env.PATH, join(toolchainBin, 'node'));
  environment.npm_config_userconfig = userConfig;
  return { ...environment, ...extra };
}
