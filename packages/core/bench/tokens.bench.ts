// Token-path benchmark: keyless (both backends) against the raw libraries, in the same run against
// the same local endpoint: the warm path (each contender in its own child process, see
// token-contenders.ts for why), the import cost and cold process → first token (cold-start.ts).
// Prints tables and writes bench-results/core.json at the repository root in the shared format.
// `pnpm bench` runs it against dist (build first); Node strips the types, so this file needs no build.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startIdentityEndpoint } from '@keyless/local-azure';
import { row, writeBenchResults } from '../../../scripts/bench-results.mjs';
import { measureFirstTokens, measureImports } from './cold-start.ts';
import { type ContenderReport, contenderNames } from './token-contenders.ts';

const settings = {
  iterations: Number(process.env.BENCH_ITERATIONS ?? 50_000),
  timeLimitMs: Number(process.env.BENCH_TIME_LIMIT_MS ?? 4_000),
  scopeCount: 1000,
  burstSize: 1000,
  // The import and first-token figures differ by a few milliseconds on a 50–300 ms base whose
  // process-to-process spread is ±20 ms here: 15 rounds left the medians ±5 ms apart between runs.
  importRounds: Number(process.env.BENCH_IMPORT_ROUNDS ?? 41),
  coldRounds: Number(process.env.BENCH_COLD_ROUNDS ?? 31),
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
process.stderr.write(`measuring import cost, ${settings.importRounds} rounds…\n`);
const importRows = await measureImports(settings.importRounds);
process.stderr.write(`measuring cold process → first token, ${settings.coldRounds} rounds…\n`);
const firstTokenRows = await measureFirstTokens(settings.coldRounds, endpoint.appServiceEnvironment());
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

for (const keyless of reports.filter((report) => report.name.startsWith('keyless'))) {
  for (const raw of reports.filter((report) => report.name.startsWith('raw'))) {
    for (const size of ['oneScope', 'thousandScopes'] as const) {
      const ratio = raw[size].p50 / keyless[size].p50;
      console.log(
        `${keyless.name} is ${ratio.toFixed(1)}× faster at p50 than ${raw.name} (${size === 'oneScope' ? '1 scope' : '1,000 scopes'})`,
      );
    }
  }
}

const byName = (name: string) => reports.find((report) => report.name === name) as (typeof reports)[number];
const warmRows = (
  [
    ['msal', 'keyless (msal)', 'raw ManagedIdentityApplication'],
    ['azure-identity', 'keyless (azure-identity)', 'raw ManagedIdentityCredential'],
  ] as const
).flatMap(([backend, keylessName, rawName]) => {
  const keyless = byName(keylessName);
  const raw = byName(rawName);
  return [
    row({
      measure: `warm getToken p50, 1 scope, ${backend}`,
      unit: 'µs',
      raw: Number(raw.oneScope.p50.toFixed(3)),
      keyless: Number(keyless.oneScope.p50.toFixed(3)),
      better: 'lower',
      goal: null,
      rawLabel: rawName,
      keylessLabel: `keyless, ${backend} backend`,
      note: `per call, from batches of 100; p99 ${raw.oneScope.p99.toFixed(2)} µs raw, ${keyless.oneScope.p99.toFixed(2)} µs keyless`,
    }),
    row({
      measure: `warm getToken p50, 1,000 scopes, ${backend}`,
      unit: 'µs',
      raw: Number(raw.thousandScopes.p50.toFixed(3)),
      keyless: Number(keyless.thousandScopes.p50.toFixed(3)),
      better: 'lower',
      goal: null,
      rawLabel: rawName,
      keylessLabel: `keyless, ${backend} backend`,
    }),
    row({
      measure: `endpoint requests for ${settings.burstSize} concurrent cold callers, ${backend}`,
      unit: 'requests',
      raw: raw.burstRequests,
      keyless: keyless.burstRequests,
      better: 'lower',
      goal: null,
      rawLabel: rawName,
      keylessLabel: `keyless, ${backend} backend`,
      note: `failures: ${raw.burstFailures} raw, ${keyless.burstFailures} keyless`,
    }),
  ];
});

// Issue 14: with an OpenTelemetry SDK registered, the warm path stays within 10 % of keyless without one
// (a cache hit only bumps a counter that an observable instrument reads at collection).
const withSdk = byName('keyless (msal) + OpenTelemetry SDK');
const withoutSdk = byName('keyless (msal)');
const telemetryRows = [
  row({
    measure: 'warm getToken p50, 1 scope, msal, with an OpenTelemetry SDK registered',
    unit: 'µs',
    raw: Number(withoutSdk.oneScope.p50.toFixed(3)),
    keyless: Number(withSdk.oneScope.p50.toFixed(3)),
    better: 'lower',
    goal: 1.1,
    rawLabel: 'keyless (msal), no SDK',
    keylessLabel: 'keyless (msal), tracer and meter providers registered',
    note: `ratio = with SDK ÷ without; p99 ${withoutSdk.oneScope.p99.toFixed(2)} µs without, ${withSdk.oneScope.p99.toFixed(2)} µs with`,
  }),
];

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
writeBenchResults(
  repositoryRoot,
  'core',
  'Token provider (@keyless/core vs @azure/identity and @azure/msal-node)',
  [
    { title: 'Import, fresh process', rows: importRows },
    { title: 'Cold process → first token (local identity endpoint)', rows: firstTokenRows },
    { title: 'Warm path', rows: warmRows },
    { title: 'Warm path with OpenTelemetry (issue 14)', rows: telemetryRows },
  ],
);
