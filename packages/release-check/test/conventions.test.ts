import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findPublishedPackages, repositoryRoot } from '../src/workspace-packages.ts';

/**
 * The conventions of docs/contributing.md that a machine can check. Each test names the rule; a
 * failure lists every offender.
 */

const published = findPublishedPackages();
/** Packages whose job is one connector: `create<Name>Connector` in `src/<stem>-connector.ts`. */
const connectorNames: Record<string, string> = {
  blob: 'Blob',
  keyvault: 'KeyVault',
  sql: 'Sql',
  postgres: 'Postgres',
  redis: 'Redis',
};

/**
 * Factories a connector's root may export besides `create<Name>Connector`: one per further client
 * library it supports, each an optional peer loaded by its own factory (docs/contributing.md).
 */
const otherClientFactories: Record<string, readonly string[]> = {
  redis: ['createNodeRedisClusterConnector', 'createNodeRedisConnector', 'createRedisClusterConnector'],
};

function stemOf(packageName: string): string {
  return packageName.replace(/^@keyless\//, '');
}

function filesUnder(folder: string, keep: (path: string) => boolean): string[] {
  let found: string[] = [];
  for (const entry of readdirSync(folder)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) found = found.concat(filesUnder(path, keep));
    else if (keep(path)) found.push(path);
  }
  return found;
}

describe('conventions (docs/contributing.md)', () => {
  it('one stem per package: folder, package name and, for a connector, its main file agree', () => {
    const offenders: string[] = [];
    for (const each of published) {
      const stem = stemOf(each.name);
      if (each.relativeFolder !== `packages/${stem}`)
        offenders.push(`${each.name} lives in ${each.relativeFolder}`);
      const name = connectorNames[stem];
      if (name === undefined) continue;
      const main = join(each.folder, 'src', `${stem}-connector.ts`);
      let source = '';
      try {
        source = readFileSync(main, 'utf8');
      } catch {
        offenders.push(`${each.name} has no src/${stem}-connector.ts`);
        continue;
      }
      if (!source.includes(`export function create${name}Connector(`))
        offenders.push(`${each.name}: src/${stem}-connector.ts does not export create${name}Connector`);
    }
    expect(offenders).toEqual([]);
  });

  it('every connector published is known here (a new one gets a row above and in docs/contributing.md)', () => {
    const withFactory = published
      .filter((each) => readFileSync(join(each.folder, 'src', 'index.ts'), 'utf8').includes('Connector,'))
      .map((each) => stemOf(each.name));
    expect(withFactory.filter((stem) => !(stem in connectorNames))).toEqual([]);
  });

  it('factories are synchronous: no create…Connector is async or returns a Promise', () => {
    const offenders: string[] = [];
    for (const each of published) {
      for (const file of filesUnder(join(each.folder, 'src'), (path) => path.endsWith('.ts'))) {
        const source = readFileSync(file, 'utf8');
        for (const match of source.matchAll(
          /export\s+(async\s+)?function\s+(create\w+Connector)\s*\(([^)]*)\)\s*:\s*([^{]+)\{/g,
        )) {
          if (match[1] !== undefined || /Promise</.test(match[4] ?? ''))
            offenders.push(`${relative(repositoryRoot, file)}: ${match[2]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it("a connector's root exports its factory (one per supported client) and types only; core's root at most 30 runtime exports", async () => {
    const offenders: string[] = [];
    for (const each of published) {
      const stem = stemOf(each.name);
      const root = await import(pathToFileURL(join(each.folder, 'dist', 'index.js')).href);
      const names = Object.keys(root).sort();
      const name = connectorNames[stem];
      const expected = [`create${name}Connector`, ...(otherClientFactories[stem] ?? [])].sort();
      if (name !== undefined && names.join() !== expected.join())
        offenders.push(`${each.name} exports ${names.join(', ')}`);
      if (stem === 'core' && names.length > 30)
        offenders.push(`@keyless/core exports ${names.length} values`);
    }
    expect(offenders).toEqual([]);
  });

  it('no code of ours switches TLS verification off (tests may spell such settings only as refused input)', () => {
    const weakening = [
      /rejectUnauthorized\s*:\s*false/,
      /NODE_TLS_REJECT_UNAUTHORIZED\s*=\s*['"`]?0/,
      /NODE_TLS_REJECT_UNAUTHORIZED\s*:\s*['"`]0/,
      /trustServerCertificate\s*:\s*true/,
      /checkServerIdentity\s*:\s*\(\)\s*=>\s*undefined/,
    ];
    const isCode = (path: string) => /\.(ts|mts|js|mjs|cjs)$/.test(path) && !/\/test\//.test(path);
    // packages/testing is test support: its attack rows spell these settings as the input to refuse.
    const folders = [
      ...readdirSync(join(repositoryRoot, 'packages'))
        .filter((name) => name !== 'testing')
        .map((name) => join(repositoryRoot, 'packages', name)),
      ...readdirSync(join(repositoryRoot, 'apps')).map((name) => join(repositoryRoot, 'apps', name)),
      join(repositoryRoot, 'scripts'),
    ];
    const offenders: string[] = [];
    for (const folder of folders) {
      for (const file of filesUnder(folder, isCode)) {
        const lines = readFileSync(file, 'utf8').split('\n');
        lines.forEach((line, index) => {
          const trimmed = line.trim();
          if (trimmed.startsWith('//') || trimmed.startsWith('/*') || trimmed.startsWith('*')) return;
          if (weakening.some((pattern) => pattern.test(line)))
            offenders.push(`${relative(repositoryRoot, file)}:${index + 1}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
