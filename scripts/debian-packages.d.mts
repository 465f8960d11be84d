// Types of debian-packages.mjs, for the release check's tests (the script stays plain JavaScript).
export const debianPolicyPath: string;
export function runCommand(command: string, args: readonly string[], options?: object): number;
export function installDebianPackages(
  packages: readonly string[],
  options?: {
    run?: (command: string, args: readonly string[], options?: object) => number;
    policyPath?: string;
    asRoot?: boolean;
    systemd?: boolean;
    environment?: Record<string, string | undefined>;
    log?: (line: string) => void;
  },
): number;
