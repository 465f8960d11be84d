// Types of user-environment.mjs, for the release check's TypeScript (the script itself stays plain
// JavaScript: it runs on the machine's own Node before anything is installed).
type Environment = Record<string, string | undefined>;

export const npmGlobalConfigCarrier: 'KEYLESS_NPM_GLOBALCONFIG';
export function isScriptVariable(name: string, value?: string): boolean;
export function npmSetting(environment: Environment, key: string): string | undefined;
export function pathWithoutNode(pathValue: string | undefined, nodeExecutable: string): string;
export function userNpmGlobalConfig(
  environment: Environment,
  options?: { excludeNode?: string },
): string | undefined;
export function toolchainEnvironment(
  environment: Environment,
  options: { toolchainBin: string; npmGlobalConfig?: () => string | undefined },
): Environment;
export function userShellEnvironment(
  environment: Environment,
  options?: { nodeFolder?: string; excludeNode?: string; npmGlobalConfig?: () => string | undefined },
): Environment;
