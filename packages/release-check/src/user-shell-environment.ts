import { dirname } from 'node:path';
import {
  userShellEnvironment as buildUserShellEnvironment,
  userNpmGlobalConfig,
} from '../../../scripts/user-environment.mjs';

let askedNpmGlobalConfig: { value: string | undefined } | undefined;

/**
 * The environment of a user's shell for the npm and Node processes the checks start: every variable
 * of the user's (CA bundles, proxies, npm settings), none of those pnpm/npm/turbo set for the running
 * script, npm's global config where the user's own npm reads it, and `node` (default: the Node that
 * runs the checks) first on PATH. The logic is scripts/user-environment.mjs, shared with the quickstart.
 */
export function userShellEnvironment(
  source: NodeJS.ProcessEnv = process.env,
  node: string = process.execPath,
): NodeJS.ProcessEnv {
  return buildUserShellEnvironment(source, {
    nodeFolder: dirname(node),
    // Asked once per process, and only when quickstart did not pass it on.
    npmGlobalConfig: () => {
      askedNpmGlobalConfig ??= { value: userNpmGlobalConfig(source, { excludeNode: process.execPath }) };
      return askedNpmGlobalConfig.value;
    },
  });
}
