import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BenchResult,
  findBenchPackages,
  renderBenchmarksReport,
} from '../../../scripts/benchmarks-report.mjs';
import { repositoryRoot } from '../src/workspace-packages.ts';

const run = promisify(execFile);
const script = join(repositoryRoot, 'scripts', 'benchmarks-report.mjs');
const folder = mkdtempSync(join(tmpdir(), 'keyless-benchmarks-report-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const sql: BenchResult = {
  bench: 'sql',
  title: 'Azure SQL (@keyless/sql vs tedious)',
  generatedAt: '2026-01-02T03:04:05.000Z',
  node: 'v24.21.0',
  tables: [
    {
      title: 'Throughput, SELECT 1',
      rows: [
        {
          measure: 'sequential',
          unit: 'q/s',
          raw: 14015,
          keyless: 13500,
          ratio: 0.963,
          better: 'higher',
          goal: 0.95,
          rawLabel: 'one tedious connection',
          keylessLabel: 'keyless pool',
        },
        {
          measure: '16-way',
          unit: 'q/s',
          raw: 11971,
          keyless: 11000,
          ratio: 0.919,
          better: 'higher',
          goal: 0.98,
          rawLabel: 'raw pool of 16',
          keylessLabel: 'keyless pool',
          note: 'a | pipe',
        },
      ],
    },
    {
      title: 'Cold start',
      rows: [
        {
          measure: 'first row',
          unit: 'ms',
          raw: 478,
          keyless: 572.4,
          ratio: 1.197,
          better: 'lower',
          goal: 1.1,
          rawLabel: 'tedious + <ManagedIdentityCredential>',
          keylessLabel: 'createSqlConnector',
        },
      ],
    },
  ],
};
const installSize: BenchResult = {
  bench: 'install-size',
  title: 'Install size',
  generatedAt: '2026-01-02T03:04:06.000Z',
  node: 'v24.21.0',
  tables: [
    {
      title: 'node_modules',
      rows: [
        {
          measure: '@keyless/core',
          unit: 'MB',
          raw: null,
          keyless: 37.48,
          ratio: null,
          better: 'lower',
          goal: null,
          rawLabel: null,
          keylessLabel: 'npm install',
        },
      ],
    },
  ],
};

describe('scripts/benchmarks-report.mjs', () => {
  it('renders a results folder: machine, Node, date, one section per bench, ratios, goals and marks', async () => {
    const results = join(folder, 'results');
    const output = join(folder, 'benchmarks.md');
    await import('node:fs/promises').then(({ mkdir }) => mkdir(results));
    writeFileSync(join(results, 'sql.json'), JSON.stringify(sql));
    writeFileSync(join(results, 'install-size.json'), JSON.stringify(installSize));
    writeFileSync(join(results, 'sql-postgres-redis.json'), JSON.stringify({ redis: { results: [] } }));
    await run(process.execPath, [script, '--results', results, '--output', output]);
    const report = readFileSync(output, 'utf8');

    expect(report).toMatch(/^- Machine: .+, \d+ cores, [\d.]+ GiB memory, \w+ \w+$/m);
    expect(report).toContain(`- Node: ${process.version}`);
    expect(report).toMatch(/^- Report generated: \d{4}-\d\d-\d\dT/m);
    // Summary: one line per bench (files in name order), with goals met and missed.
    expect(report).toContain(
      '| [Install size](#bench-install-size) | 2026-01-02T03:04:06.000Z | v24.21.0 | 0 | 0 |',
    );
    expect(report).toContain(
      '| [Azure SQL (@keyless/sql vs tedious)](#bench-sql) | 2026-01-02T03:04:05.000Z | v24.21.0 | 1 | 2 |',
    );
    expect(report).toContain(
      'Not in the shared format, so not shown: bench-results/sql-postgres-redis.json.',
    );
    // Raw and keyless side by side, the ratio, the goal's direction and the verdict.
    expect(report).toContain('keyless: keyless pool.');
    expect(report).toContain(
      '| sequential | 14,015 q/s · one tedious connection | 13,500 q/s | 0.963 | ≥ 0.95 | ✅ pass |  |',
    );
    expect(report).toContain(
      '| 16-way | 11,971 q/s · raw pool of 16 | 11,000 q/s | 0.919 | ≥ 0.98 | ❌ miss | a \\| pipe |',
    );
    expect(report).toContain(
      'raw: tedious + &lt;ManagedIdentityCredential&gt;; keyless: createSqlConnector.',
    );
    expect(report).toContain('| first row | 478 ms | 572 ms | 1.197 | ≤ 1.1 | ❌ miss |  |');
    expect(report).toContain('| @keyless/core | — | 37.48 MB | — | — | — |  |');
    expect(report.indexOf('## Install size')).toBeLessThan(report.indexOf('## Azure SQL'));
  });

  it('lists every package bench, and says so when there are no results yet', () => {
    const report = renderBenchmarksReport({
      results: [],
      benchPackages: [{ name: '@keyless/sql', folder: 'packages/sql', command: 'node bench/sql.bench.ts' }],
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, platform: 'linux x64', node: 'v24.0.0' },
      generatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(report).toContain('| (no results in bench-results/: run `pnpm bench`) | | | | |');
    expect(report).toContain('- `@keyless/sql` (packages/sql): `node bench/sql.bench.ts`');
    expect(report).toContain('- Machine: Test CPU, 2 cores, 8 GiB memory, linux x64');
  });
});

describe('docs/benchmarks.md', () => {
  const path = join(repositoryRoot, 'docs', 'benchmarks.md');

  it('exists, generated by the script, and names every bench `pnpm bench` runs', () => {
    expect(existsSync(path), 'run `pnpm bench` (or `pnpm bench:report`) and commit docs/benchmarks.md').toBe(
      true,
    );
    const report = readFileSync(path, 'utf8');
    expect(report).toContain('Generated by scripts/benchmarks-report.mjs');
    const packages = findBenchPackages();
    expect(packages.map((each) => each.name)).toContain('@keyless/release-check');
    for (const each of packages)
      expect(report, `${each.name}'s bench is missing: run pnpm bench:report`).toContain(
        `- \`${each.name}\` (${each.folder}): \`${each.command}\``,
      );
  });

  it('is what the README links to for performance claims', () => {
    const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
    expect(readme).toContain('docs/benchmarks.md');
  });
});
