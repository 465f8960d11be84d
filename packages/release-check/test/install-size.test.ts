import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import {
  findCeilingBreaches,
  type InstallCeiling,
  type InstallSize,
  measureInstallSize,
  megabytes,
} from '../src/install-size.ts';

const packed = inject('packedPackages');

/**
 * What installing each published package alone may cost (npm, from its tarball, required peers
 * included), a little above the figures measured when the ceiling was set (`pnpm bench` prints
 * today's in docs/benchmarks.md). Raising one is a decision: say in the commit what grew and why.
 * Measured 2026-12-03: blob 67.4 MB/67, core 37.5/46, keyvault 40.5/52, local-azure 7.8/39 (Azurite is
 * an optional peer), postgres 41.1/67, redis 42.4/58, sql 57.8/73. 2026-12-04: doctor 35.2/49 (core and
 * its backends, commander, jose; the connectors it probes are the application's, not its dependencies).
 */
const ceilings: Record<string, InstallCeiling> = {
  '@keyless/blob': { megabytes: 74, dependencies: 74 },
  '@keyless/core': { megabytes: 41, dependencies: 51 },
  '@keyless/doctor': { megabytes: 39, dependencies: 54 },
  '@keyless/keyvault': { megabytes: 44, dependencies: 57 },
  '@keyless/local-azure': { megabytes: 9, dependencies: 43 },
  '@keyless/postgres': { megabytes: 45, dependencies: 74 },
  '@keyless/redis': { megabytes: 47, dependencies: 64 },
  '@keyless/sql': { megabytes: 64, dependencies: 80 },
};

describe('install size of each published package', () => {
  it('stays under its committed ceiling, installed alone with npm from its tarball', async () => {
    const folder = join(inject('releaseCheckFolder'), 'install-size');
    const measured: InstallSize[] = [];
    // One after another: parallel npm installs on two cores only slow the other test files down.
    for (const target of packed) {
      measured.push(await measureInstallSize(target, packed, join(folder, target.name.replace('/', '+'))));
    }
    // A measurement for the log (bench-results/install-size.json is the report).
    console.log(
      measured
        .map((each) => `${each.name}: ${megabytes(each.bytes)} MB, ${each.dependencies} dependencies`)
        .join('\n'),
    );
    expect(findCeilingBreaches(measured, ceilings)).toEqual([]);
    // Every published package was measured and has a ceiling (a new package must get one).
    expect(measured.map((each) => each.name).sort()).toEqual(Object.keys(ceilings).sort());
    // Seven npm installs with an empty cache, one after another, beside every other test on 2 cores.
  }, 900_000);

  it('names the package that grew and by how much', () => {
    const grown: InstallSize = { name: '@keyless/core', bytes: 45_500_000, dependencies: 60, peers: [] };
    expect(findCeilingBreaches([grown], ceilings)).toEqual([
      '@keyless/core installs 45.5 MB, 4.50 MB over its ceiling of 41 MB',
      '@keyless/core installs 60 dependencies, 9 over its ceiling of 51',
    ]);
    expect(findCeilingBreaches([{ ...grown, name: '@keyless/new' }], ceilings)).toEqual([
      '@keyless/new has no install-size ceiling: add one (measured 45.5 MB, 60 dependencies)',
    ]);
  });
});
