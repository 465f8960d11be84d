// INCR through keyless (password from Key Vault, and Entra token) against raw ioredis with a static
// password, in the same run against the same local Redis over TLS: sequential and pipelined ops/s,
// µs added per operation, and the time to the first command from a cold process. The measuring
// runs in child processes started with the stack's environment (NODE_EXTRA_CA_CERTS is read at
// start-up). Prints a table and merges `"redis"` into bench-results/sql-postgres-redis.json at the
// repository root. `pnpm bench` runs it; Node strips the types, so there is no build step.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLocalAzure } from '@keyless/local-azure';
import type { MeasureReport, MeasureSettings } from './redis-measure.ts';

const settings: MeasureSettings = {
  rounds: Number(process.env.BENCH_REDIS_ROUNDS ?? 7),
  sequentialOps: Number(process.env.BENCH_REDIS_SEQUENTIAL_OPS ?? 4000),
  pipelines: Number(process.env.BENCH_REDIS_PIPELINES ?? 600),
  pipelineSize: 100,
};
const coldStartRuns = Number(process.env.BENCH_REDIS_COLD_RUNS ?? 3);
const run = promisify(execFile);

const stateFolder = mkdtempSync(join(tmpdir(), 'keyless-bench-'));
const stack = await startLocalAzure({
  services: ['redis'],
  stateFolder,
  onProgress: (event) => process.stderr.write(`${event.service}: ${event.phase}\n`),
});
let report: MeasureReport;
const coldStart: Record<string, number[]> = { raw: [], secret: [], entra: [] };
try {
  // The raw contender's static password: what a connection string would hold. Never printed.
  const [password] = stack.keyVault?.secretValues().slice(-1) ?? [];
  const environment = { ...process.env, ...stack.env, BENCH_REDIS_PASSWORD: password ?? '' };
  process.stderr.write('measuring throughput…\n');
  const { stdout } = await run(
    process.execPath,
    [fileURLToPath(new URL('./redis-measure.ts', import.meta.url)), JSON.stringify(settings)],
    { env: environment, maxBuffer: 16 * 1024 * 1024 },
  );
  report = JSON.parse(stdout.trim().split('\n').at(-1) as string) as MeasureReport;
  process.stderr.write('measuring cold starts…\n');
  for (let index = 0; index < coldStartRuns; index += 1) {
    for (const mode of ['raw', 'secret', 'entra']) {
      const { stdout: line } = await run(
        process.execPath,
        [fileURLToPath(new URL('./redis-cold-start.ts', import.meta.url)), mode],
        { env: environment },
      );
      coldStart[mode]?.push(
        (JSON.parse(line.trim().split('\n').at(-1) as string) as { elapsedMs: number }).elapsedMs,
      );
    }
  }
} finally {
  await stack.stop();
  rmSync(stateFolder, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const addedMicroseconds = (keyless: number, raw: number) => (1 / keyless - 1 / raw) * 1e6;
const rows = (
  [
    ['raw ioredis, static password', 'raw', 'raw'],
    ['keyless, Key Vault secret', 'keylessSecret', 'secret'],
    ['keyless, Entra token', 'keylessEntra', 'entra'],
  ] as const
).map(([contender, key, cold]) => ({
  contender,
  'sequential ops/s': Math.round(report[key].sequentialOpsPerSecond),
  'pipelined ops/s (×100)': Math.round(report[key].pipelinedOpsPerSecond),
  'µs added/op sequential': addedMicroseconds(
    report[key].sequentialOpsPerSecond,
    report.raw.sequentialOpsPerSecond,
  ).toFixed(2),
  'µs added/op pipelined': addedMicroseconds(
    report[key].pipelinedOpsPerSecond,
    report.raw.pipelinedOpsPerSecond,
  ).toFixed(3),
  'cold start to first INCR ms': Math.round(median(coldStart[cold] ?? [])),
}));
console.log(`\nRedis INCR over TLS, keyless vs raw ioredis (Node ${process.version})\n`);
console.table(rows);

const resultsFile = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'bench-results',
  'sql-postgres-redis.json',
);
mkdirSync(dirname(resultsFile), { recursive: true });
let existing: Record<string, unknown> = {};
if (existsSync(resultsFile)) {
  try {
    existing = JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
  } catch {
    existing = {};
  }
}
existing.redis = {
  measuredAt: new Date().toISOString(),
  node: process.version,
  settings: { ...settings, coldStartRuns, transport: 'TLS, loopback' },
  results: rows,
  ratios: {
    secretSequential: report.keylessSecret.sequentialOpsPerSecond / report.raw.sequentialOpsPerSecond,
    entraSequential: report.keylessEntra.sequentialOpsPerSecond / report.raw.sequentialOpsPerSecond,
    secretPipelined: report.keylessSecret.pipelinedOpsPerSecond / report.raw.pipelinedOpsPerSecond,
    entraPipelined: report.keylessEntra.pipelinedOpsPerSecond / report.raw.pipelinedOpsPerSecond,
  },
};
writeFileSync(resultsFile, `${JSON.stringify(existing, null, 2)}\n`);
console.log(`\nwritten: ${resultsFile}`);
