// Token-path benchmark: keyless (both backends) against the raw libraries, in the same run against
// the same local endpoint. Each contender runs in its own child process (see token-contenders.ts
// for why). Prints a table and writes bench-results/tokens.json at the repository root.
// `pnpm bench` runs it; Node strips the types, so there is no build step for this file.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startIdentityEndpoint } from '@keyless/local-azure';
import { type ContenderReport, contenderNames } from './token-contenders.ts';

const settings = {
  iterations: Number(process.env.BENCH_ITERATIONS ?? 50_000),
  timeLimitMs: Number(process.env.BENCH_TIME_LIMIT_MS ?? 4_000),
  scopeCount: 1000,
  burstSize: 1000,
};

const endpoint = await startIdentityEndpoint();
const contenderScript = fileURLToPath(new URL('./token-contenders.ts', import.meta.url));
const reports: (ContenderReport & { burstRequests: number })[] = [];
for (const name of contenderNames) {
  process.stderr.write(`measuring ${name}…\n`);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [contenderScript, '--contender', name, JSON.stringify(settings)],
    { env: { ...process.env, ...endpoint.appServiceEnvironment() }, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout.trim().split('\n').at(-1) as string) as ContenderReport;
  reports.push({ ...report, burstRequests: endpoint.counters.byResource(report.burstResource) });
}
await endpoint.stop();

const format = (microseconds: number) => `${microseconds.toFixed(2)} µs`;
console.log(
  `\nWarm getToken per call, from batches of 100 calls (Node ${process.version}; up to ${settings.iterations} calls or ${settings.timeLimitMs} ms each), and a cold burst of ${settings.burstSize} concurrent callers\n`,
);
console.table(
  reports.map((report) => ({
    contender: report.name,
    'p50 1 scope': format(report.oneScope.p50),
    'p99 1 scope': format(report.oneScope.p99),
    'p50 1,000 scopes': format(report.thousandScopes.p50),
    'p99 1,000 scopes': format(report.thousandScopes.p99),
    '1,000 ÷ 1 (p50)': `${(report.thousandScopes.p50 / report.oneScope.p50).toFixed(2)}×`,
    'burst requests': report.name.startsWith('floor') ? '—' : report.burstRequests,
    'burst failures': report.burstFailures,
  })),
);

const ratios: Record<string, number> = {};
for (const keyless of reports.filter((report) => report.name.startsWith('keyless'))) {
  for (const raw of reports.filter((report) => report.name.startsWith('raw'))) {
    for (const size of ['oneScope', 'thousandScopes'] as const) {
      const ratio = raw[size].p50 / keyless[size].p50;
      ratios[`${keyless.name} vs ${raw.name}, ${size}`] = Number(ratio.toFixed(1));
      console.log(
        `${keyless.name} is ${ratio.toFixed(1)}× faster at p50 than ${raw.name} (${size === 'oneScope' ? '1 scope' : '1,000 scopes'})`,
      );
    }
  }
}

const folder = join(dirname(fileURLToPath(import.meta.url)), '../../../bench-results');
mkdirSync(folder, { recursive: true });
const file = join(folder, 'tokens.json');
writeFileSync(file, `${JSON.stringify({ node: process.version, settings, reports, ratios }, null, 2)}\n`);
console.log(`\nwritten to ${file}`);
