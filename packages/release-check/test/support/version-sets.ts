import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createConsumerProject,
  type InstallResult,
  installConsumerProject,
} from '../../src/consumer-project.ts';
import { installNode } from '../../src/node-binary.ts';
import { findLeaks } from '../../src/secret-leaks.ts';
import { missingSmokeLines, runSmoke } from '../../src/smoke-run.ts';
import { userShellEnvironment } from '../../src/user-shell-environment.ts';
import { planVersionSets, type VersionSet } from '../../src/version-matrix.ts';

const packed = inject('packedPackages');
const releaseCheckFolder = inject('releaseCheckFolder');

const nodeBinaries = new Map<string, Promise<string>>();

function nodeBinary(version: string): Promise<string> {
  let binary = nodeBinaries.get(version);
  if (!binary) {
    binary = installNode(version, join(releaseCheckFolder, `node-${version}`));
    nodeBinaries.set(version, binary);
  }
  return binary;
}

function describeSet(set: VersionSet): string {
  return [
    `Node ${set.node}`,
    ...Object.entries(set.peers).map(([name, version]) => `${name} ${version}`),
  ].join(', ');
}

/**
 * The packed tarballs installed into a fresh project with the peer versions of each set whose name
 * starts with `which`, and the smoke script run on that set's Node — what a user on the oldest (or
 * newest) versions our ranges accept gets.
 */
export async function describeVersionSets(which: 'lowest' | 'newest'): Promise<void> {
  const plan = await planVersionSets(packed);
  const sets = plan.sets.filter((set) => set.name.startsWith(which));

  describe.each(sets)('the packed packages with the $name versions the ranges allow', (set) => {
    const projectFolder = join(releaseCheckFolder, `consumer-${set.name.replace(/\W+/g, '-')}`);
    let node: string;
    let install: InstallResult;

    beforeAll(async () => {
      node = await nodeBinary(set.node);
      await createConsumerProject(projectFolder, packed, set.peers, { typeCheck: false });
      install = await installConsumerProject(projectFolder, node);
      // For the report, not an assertion.
      console.log(
        `${set.name}: ${describeSet(set)}; npm install ${(install.durationMs / 1000).toFixed(1)} s`,
      );
    });

    it('installs with npm (run on that Node)', () => {
      expect(install.exitCode, install.output).toBe(0);
    });

    it('installs exactly the planned peer versions', async () => {
      for (const [name, version] of Object.entries(set.peers)) {
        const manifest = JSON.parse(
          await readFile(join(projectFolder, 'node_modules', name, 'package.json'), 'utf8'),
        ) as { version: string };
        expect(manifest.version, name).toBe(version);
      }
    });

    it('runs the smoke script on that Node: every connector, then rotation and restart', async () => {
      const started = performance.now();
      const { exitCode, output } = await runSmoke(projectFolder, { node });
      const leaks = findLeaks(output);
      if (leaks.length === 0)
        console.log(`${set.name} (${((performance.now() - started) / 1000).toFixed(1)} s):\n${output}`);
      expect(leaks).toEqual([]);
      expect(output).toContain(`smoke: running on Node v${set.node}\n`);
      expect(missingSmokeLines(output), output).toEqual([]);
      expect(exitCode, output).toBe(0);
    });

    it('runs the installed keyless-local command on that Node', async () => {
      const manifestPath = join(projectFolder, 'node_modules', '@keyless', 'local-azure', 'package.json');
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { bin: Record<string, string> };
      const bin = join(
        projectFolder,
        'node_modules',
        '@keyless',
        'local-azure',
        manifest.bin['keyless-local'] ?? '',
      );
      const result = await execa(node, [bin, '--help'], {
        cwd: projectFolder,
        env: userShellEnvironment(process.env, node),
        extendEnv: false,
        reject: false,
        all: true,
      });
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toMatch(/^Usage: keyless-local/m);
    });
  });
}
