// The user's environment, carried into every child process we start: added to, never replaced.
//
// Runs on the machine's own Node (any version >= 18) with no dependencies: scripts/quickstart.mjs
// imports it before anything is installed, and the release check imports the same code, so the
// tests exercise what `npm test` runs.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Where the user's npm keeps its global config, carried past pnpm: pnpm sets `npm_config_globalconfig`
 * to its own rc file (~/.config/pnpm/rc) for every script it runs, so the value the user's npm uses
 * would be lost on the way to a test that runs npm. A KEYLESS_* name also passes turbo's task
 * environment filter.
 */
export const npmGlobalConfigCarrier = 'KEYLESS_NPM_GLOBALCONFIG';

/**
 * Variables npm, pnpm and turbo set for the script they are running, which a user's shell does not
 * have (observed with npm 11, pnpm 10.34 and turbo 2.11: `pnpm --filter … exec env`, `env` inside
 * `pnpm run` and inside a turbo task). Everything else in the environment is the user's.
 */
const scriptVariablePatterns = [
  /^npm_lifecycle_/i, // the script's name and text
  /^npm_package_/i, // the running package's manifest
  /^npm_command$/i,
  /^npm_execpath$/i, // the package manager that runs the script (pnpm.cjs inside pnpm)
  /^npm_node_execpath$/i,
  /^NODE$/, // the Node that runs the package manager
  /^INIT_CWD$/,
  /^npm_config_user_agent$/i, // "pnpm/10 npm/? node/v24": npm would announce itself as pnpm
  /^npm_config_verify_deps_before_run$/i, // pnpm's own setting, unknown to npm
  /^npm_config_node_gyp$/i, // the package manager's bundled node-gyp
  /^npm_config_npm_globalconfig$/i, // pnpm's guess at npm's global config, from the running Node's prefix
  /^npm_config_(global|local)_prefix$/i, // npm's record of the prefixes it ran the script with
  /^npm_config_npm_version$/i,
  /^pnpm_config_/i,
  /^PNPM_(PACKAGE_NAME|SCRIPT_SRC_DIR)$/, // not PNPM_HOME: that one is the user's
  /^TURBO_(HASH|INVOCATION_DIR)$/,
];

/**
 * True for a variable a package manager or turbo set for the running script, not the user. pnpm's
 * command shims (node_modules/.bin/*) also export NODE_PATH pointing into its store, which would let
 * a child resolve packages it never installed; a NODE_PATH of the user's elsewhere is kept.
 */
export function isScriptVariable(name, value) {
  if (name === 'NODE_PATH' && /[\\/]node_modules[\\/]\.pnpm[\\/]/.test(value ?? '')) return true;
  return scriptVariablePatterns.some((pattern) => pattern.test(name));
}

/** The value of an npm setting in `environment`, whatever the case of its name (npm ignores case). */
export function npmSetting(environment, key) {
  const wanted = `npm_config_${key}`.toLowerCase();
  for (const [name, value] of Object.entries(environment)) {
    if (name.toLowerCase() === wanted && value) return value;
  }
  return undefined;
}

function sameFile(first, second) {
  try {
    const a = statSync(first);
    const b = statSync(second);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * PATH without the folders whose `node` is `nodeExecutable` (compared as files, so a symlink or a
 * hard link to it counts): what the user's shell finds when our toolchain's Node is not there.
 */
export function pathWithoutNode(pathValue, nodeExecutable) {
  return (pathValue ?? '')
    .split(delimiter)
    .filter((folder) => {
      const node = folder ? join(folder, 'node') : '';
      if (!node || !existsSync(node)) return true;
      // Any keyless checkout's toolchain counts as ours: a shell may have another clone's on PATH.
      return !sameFile(node, nodeExecutable) && !toolchainNodePattern.test(realpathOrSelf(node));
    })
    .join(delimiter);
}

const toolchainNodePattern = /[\\/]tools[\\/]toolchain[\\/]node_modules[\\/]node[\\/]bin[\\/]node(\.exe)?$/;

function realpathOrSelf(path) {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Where the user's own npm reads its global config: `npm config get globalconfig`, run the way the
 * user's shell runs it. npm derives that path from the prefix of the Node running it
 * (`<prefix>/etc/npmrc`, e.g. Debian's /usr/etc/npmrc with a `cafile=` for a TLS-inspecting proxy),
 * so /usr/bin/npm started by our toolchain's Node would look in tools/toolchain/… instead and lose
 * the user's CA, proxy and registry settings. `excludeNode` is our toolchain's Node, dropped from
 * PATH for the question. Undefined when there is no such npm.
 */
export function userNpmGlobalConfig(environment, { excludeNode } = {}) {
  const env = { ...environment };
  if (excludeNode) env.PATH = pathWithoutNode(environment.PATH, excludeNode);
  for (const [name, value] of Object.entries(env)) if (isScriptVariable(name, value)) delete env[name];
  const result = spawnSync('npm', ['config', 'get', 'globalconfig'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const value = result.status === 0 ? result.stdout.trim() : '';
  return value === '' || value === 'undefined' ? undefined : value;
}

/**
 * The environment for our toolchain: the user's, with the toolchain first on PATH, npm's global
 * config kept where the user's npm reads it (`npm_config_globalconfig`, unless the user set one),
 * and that path also under `npmGlobalConfigCarrier` for the release check.
 *
 * `prefix` is deliberately not passed on: it only decides where `npm install -g` writes. Passing the
 * system's (/usr) would make a global install from inside our scripts put packages built for Node 24
 * into the system Node's tree; nothing we run installs globally, and one that did now stays inside
 * tools/toolchain (git-ignored, removed with the clone).
 *
 * `npmGlobalConfig` is asked for only when the user has not set one (tests point it elsewhere).
 */
export function toolchainEnvironment(
  environment,
  {
    toolchainBin,
    npmGlobalConfig = () => userNpmGlobalConfig(environment, { excludeNode: join(toolchainBin, 'node') }),
  },
) {
  const result = {
    ...environment,
    PATH: `${toolchainBin}${delimiter}${environment.PATH ?? ''}`,
    TURBO_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
    npm_config_update_notifier: 'false',
  };
  const globalConfig = npmSetting(environment, 'globalconfig') ?? npmGlobalConfig();
  if (globalConfig) {
    if (npmSetting(environment, 'globalconfig') === undefined) result.npm_config_globalconfig = globalConfig;
    result[npmGlobalConfigCarrier] = globalConfig;
  }
  return result;
}

/**
 * The environment of a user's shell for an npm (or any other tool) started from inside one of our
 * scripts: every variable of the user's, none of those the package managers set for the script,
 * npm's global config where the user's npm reads it, and `nodeFolder` put first on PATH.
 *
 * Inside a pnpm script `npm_config_globalconfig` is pnpm's own rc file, so the user's comes from
 * the carrier quickstart set, else from a value the user set, else from asking the user's npm
 * (`excludeNode`: our Node, which would make npm look under its own prefix).
 */
export function userShellEnvironment(environment, { nodeFolder, excludeNode, npmGlobalConfig } = {}) {
  const insidePnpmScript = /^pnpm\//.test(npmSetting(environment, 'user_agent') ?? '');
  const result = {};
  for (const [name, value] of Object.entries(environment)) {
    if (isScriptVariable(name, value)) continue;
    if (insidePnpmScript && name.toLowerCase() === 'npm_config_globalconfig') continue;
    result[name] = value;
  }
  const globalConfig =
    environment[npmGlobalConfigCarrier] ??
    npmSetting(result, 'globalconfig') ??
    (npmGlobalConfig ?? (() => userNpmGlobalConfig(result, { excludeNode })))();
  if (globalConfig && npmSetting(result, 'globalconfig') === undefined)
    result.npm_config_globalconfig = globalConfig;
  // Only prepended: the PATH stays the user's, with the Node that runs the checks found first.
  if (nodeFolder) result.PATH = `${nodeFolder}${delimiter}${environment.PATH ?? ''}`;
  return result;
}
