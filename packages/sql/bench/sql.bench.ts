// @keyless/sql against raw tedious, in the same run against the same local SQL endpoint:
// `SELECT 1` per second through the keyless pool (warm) vs raw tedious with a static token, on one
// long-lived connection and on a hand-made pool of the same size, sequential and 16-way
// concurrent (median of interleaved rounds); and the time to the first row from a cold process.
// The endpoint runs in this process, so absolute numbers include its work; the ratios are the point.
// Prints a table and writes bench-results/sql.json at the repository root in the shared format
// (one table per measure, keyless ÷ raw as `ratio`, the goal beside it). `pnpm bench` runs
// it after a build; Node strips the types.
// The floor of the throughput ratios (README, Performance): what keyless does per query beyond a
// hand-made free list (validation at take and release, the row object, two more listeners) is about
// 1 µs of CPU, 1–2 % of a ~60 µs query against the in-process endpoint; this bench's identical raw
// contenders differ by more than that between runs on a shared machine. bench/query-path-ab.ts
// measures it in one process as CPU per query, with raw tedious on keyless's own connections.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSqlConnector } from '@keyless/sql';
import type { Connection } from 'tedious';
import { minimalPool, openRawConnection, rawQuery, startLocalSql } from './raw-tedious.ts';

// Many samples of ~0.1 s, and a control (below) that shows how far two identical raw contenders
// differ. With 11 rounds of 0.3–0.5 s samples, the 16-way ratio moved between 0.965 and 0.990 from
// one run to the next (same code): a sample's speed moves with the machine's scheduling whatever
// its length, and only the number of samples steadies a median. (Before that, fewer rounds of 0.15 s
// let one hiccup move a ratio by 0.3.)
const settings = {
  sequentialQueries: Number(process.env.BENCH_SQL_SEQUENTIAL ?? 1_000),
  concurrency: 16,
  concurrentQueriesPerWorker: Number(process.env.BENCH_SQL_PER_WORKER ?? 100),
  warmupQueries: 1_000,
  rounds: Number(process.env.BENCH_SQL_ROUNDS ?? 151),
  coldStartRuns: Number(process.env.BENCH_SQL_COLD_RUNS ?? 9),
  statement: 'SELECT 1',
};

interface Series {
  queriesPerSecond: number;
  meanMicroseconds: number;
  p50Microseconds: number;
  p99Microseconds: number;
  queries: number;
}

type RunQuery = () => Promise<unknown>;

const local = await startLocalSql('keyless-sql-bench-', (event) =>
  process.stderr.write(`${event.service}: ${event.phase}\n`),
);
const { stack } = local;
const { server, port, database, ca } = local.target;

const report: Record<string, Series> = {};
const cold: Record<string, number> = {};
/** Each cold contender's median CPU time to its first row (the child's own figure). */
const coldCpuMedian: Record<string, number> = {};
try {
  const { tokens, token: staticToken } = local;

  const keyless = createSqlConnector({
    server,
    port,
    database,
    tokenProvider: tokens,
    ca,
    pool: { max: settings.concurrency },
  });
  const keylessQuery: RunQuery = () => keyless.query(settings.statement);

  const single = await openRaw(staticToken);
  const singleQuery = serialised((connection) => rawQuery(connection, settings.statement), single);

  const rawPool = await openRawPool(staticToken, settings.concurrency);
  const rawPoolQuery: RunQuery = () => rawPool.run((connection) => rawQuery(connection, settings.statement));

  // The control: a second raw connection and a second raw pool, identical to the first ones and
  // measured in the same rounds. Their ratio to the first is this run's noise floor; a keyless ratio
  // within it is not a cost of keyless.
  const controlSingle = await openRaw(staticToken);
  const controlSingleQuery = serialised(
    (connection) => rawQuery(connection, settings.statement),
    controlSingle,
  );
  const controlPool = await openRawPool(staticToken, settings.concurrency);
  const controlPoolQuery: RunQuery = () =>
    controlPool.run((connection) => rawQuery(connection, settings.statement));

  process.stderr.write('measuring…\n');
  const contenders = [
    ['keyless', keylessQuery],
    ['rawSingleConnection', singleQuery],
    ['rawPool', rawPoolQuery],
    ['controlSingleConnection', controlSingleQuery],
    ['controlPool', controlPoolQuery],
  ] as const;
  // The endpoint runs in this process too: warm every path (and the endpoint's) before measuring.
  for (const [, run] of contenders) {
    await sequential(run, settings.warmupQueries);
    await concurrent(run, settings.concurrency, settings.warmupQueries / 4);
  }
  // Rounds interleaved, so drift in the machine's load hits every contender alike, and the order
  // rotates each round, so no contender always follows the same one; each sample starts after a full
  // garbage collection (the package's bench script runs Node with --expose-gc), so that none pays for
  // the previous one's garbage. The median round counts.
  const rounds: Record<string, Series[]> = {};
  for (let round = 0; round < settings.rounds; round += 1) {
    const shift = round % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const [name, run] of order) {
      collectGarbage();
      const sequentialRound = await sequential(run, settings.sequentialQueries);
      rounds[`${name}Sequential`] = [...(rounds[`${name}Sequential`] ?? []), sequentialRound];
    }
    for (const [name, run] of order) {
      collectGarbage();
      const concurrentRound = await concurrent(
        run,
        settings.concurrency,
        settings.concurrentQueriesPerWorker,
      );
      rounds[`${name}Concurrent`] = [...(rounds[`${name}Concurrent`] ?? []), concurrentRound];
    }
  }
  for (const [name, measured] of Object.entries(rounds)) report[name] = medianRound(measured);

  await keyless.close();
  close(single);
  close(controlSingle);
  rawPool.close();
  controlPool.close();

  process.stderr.write('cold starts…\n');
  const child = fileURLToPath(new URL('./cold-start-child.ts', import.meta.url));
  const coldContenders = ['keyless', 'raw', 'keyless-msal', 'raw-msal'];
  const coldRuns: Record<string, number[]> = {};
  const coldCpu: Record<string, number[]> = {};
  // Interleaved too: one process of each contender per round, the median round per contender counts.
  for (let run = 0; run < settings.coldStartRuns; run += 1) {
    for (const contender of coldContenders) {
      const started = performance.now();
      const { stdout } = await promisify(execFile)(process.execPath, [child, contender], {
        env: { ...process.env, ...stack.env },
        timeout: 20_000,
      });
      coldRuns[contender] = [...(coldRuns[contender] ?? []), performance.now() - started];
      const sample = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { cpuMilliseconds: number };
      coldCpu[contender] = [...(coldCpu[contender] ?? []), sample.cpuMilliseconds];
    }
  }
  for (const contender of coldContenders) {
    cold[contender] = median(coldRuns[contender] ?? []);
    coldCpuMedian[contender] = median(coldCpu[contender] ?? []);
  }
} finally {
  await local.stop();
}

const series = (name: string) => report[name] as Series;
const row = (contender: string, measured: Series) => ({
  contender,
  'queries/s': Math.round(measured.queriesPerSecond),
  'mean µs': measured.meanMicroseconds.toFixed(1),
  'p50 µs': measured.p50Microseconds.toFixed(1),
  'p99 µs': measured.p99Microseconds.toFixed(1),
  queries: measured.queries,
});
console.log(
  `\nSELECT 1 over TLS against the local SQL endpoint, keyless vs raw tedious (Node ${process.version})\n`,
);
console.table([
  row('sequential: keyless pool (warm)', series('keylessSequential')),
  row('sequential: raw tedious, one connection', series('rawSingleConnectionSequential')),
  row('sequential: raw tedious, pool of 16', series('rawPoolSequential')),
  row('16-way: keyless pool of 16', series('keylessConcurrent')),
  row('16-way: raw tedious, one connection', series('rawSingleConnectionConcurrent')),
  row('16-way: raw tedious, pool of 16', series('rawPoolConcurrent')),
  row('control, sequential: a second raw connection', series('controlSingleConnectionSequential')),
  row('control, 16-way: a second raw pool of 16', series('controlPoolConcurrent')),
]);
const noiseFloor = {
  sequential: ratioOf('controlSingleConnectionSequential', 'rawSingleConnectionSequential'),
  concurrent: ratioOf('controlPoolConcurrent', 'rawPoolConcurrent'),
};
console.log(
  `noise floor this run (the second raw contender ÷ the first): sequential ${noiseFloor.sequential}, 16-way ${noiseFloor.concurrent}`,
);
console.table({
  'cold process → first row, keyless azure-identity (ms)': Math.round(cold.keyless ?? 0),
  'cold process → first row, raw tedious + ManagedIdentityCredential (ms)': Math.round(cold.raw ?? 0),
  'cold process → first row, keyless msal (ms)': Math.round(cold['keyless-msal'] ?? 0),
  'cold process → first row, raw tedious + MSAL ManagedIdentityApplication (ms)': Math.round(
    cold['raw-msal'] ?? 0,
  ),
});

function ratioOf(name: string, reference: string): number {
  return Number((series(name).queriesPerSecond / series(reference).queriesPerSecond).toFixed(3));
}
const ratio = (keyless: number, raw: number) => Number((keyless / raw).toFixed(3));
const throughputRow = (
  measure: string,
  keylessName: string,
  rawName: string,
  goal: number | null,
  rawLabel: string,
  keylessLabel: string,
  note: string,
) => {
  const keyless = series(keylessName).queriesPerSecond;
  const raw = series(rawName).queriesPerSecond;
  return {
    note,
    measure,
    unit: 'q/s',
    raw: Math.round(raw),
    keyless: Math.round(keyless),
    ratio: ratio(keyless, raw),
    better: 'higher',
    goal,
    rawLabel,
    keylessLabel,
  };
};
const coldRow = (
  measure: string,
  keylessName: string,
  rawName: string,
  rawLabel: string,
  keylessLabel: string,
) => {
  const keyless = cold[keylessName] ?? 0;
  const raw = cold[rawName] ?? 0;
  return {
    measure,
    unit: 'ms',
    raw: Math.round(raw),
    keyless: Math.round(keyless),
    ratio: ratio(keyless, raw),
    better: 'lower',
    goal: 1.1,
    rawLabel,
    keylessLabel,
    note: `median of ${settings.coldStartRuns} processes each, interleaved; process start to exit, measured by the parent; CPU time to the first row (load disturbs it less): raw ${Math.round(coldCpuMedian[rawName] ?? 0)} ms, keyless ${Math.round(coldCpuMedian[keylessName] ?? 0)} ms`,
  };
};
const results = {
  bench: 'sql',
  title: 'Azure SQL (@keyless/sql vs tedious)',
  generatedAt: new Date().toISOString(),
  node: process.version,
  tables: [
    {
      title: 'Throughput, SELECT 1 over TLS against the local SQL endpoint',
      rows: [
        throughputRow(
          'sequential',
          'keylessSequential',
          'rawSingleConnectionSequential',
          0.95,
          'one tedious connection',
          'keyless pool',
          `median of ${settings.rounds} interleaved rounds of ${settings.sequentialQueries} queries, each sample after a full GC; noise floor: a second raw connection measured ${noiseFloor.sequential}× the first`,
        ),
        throughputRow(
          '16-way',
          'keylessConcurrent',
          'rawPoolConcurrent',
          0.98,
          'hand-made pool of 16 tedious connections',
          'keyless pool of 16',
          `median of ${settings.rounds} interleaved rounds of ${settings.concurrency} × ${settings.concurrentQueriesPerWorker} queries, each sample after a full GC; noise floor: a second raw pool measured ${noiseFloor.concurrent}× the first`,
        ),
        throughputRow(
          '16-way vs one connection',
          'keylessConcurrent',
          'rawSingleConnectionConcurrent',
          null,
          'one tedious connection, queued',
          'keyless pool of 16',
          'the endpoint runs in the bench process: 16 connections cost more CPU per query than one',
        ),
      ],
    },
    {
      title: 'Cold process → first SQL row',
      rows: [
        coldRow(
          'azure-identity backend',
          'keyless',
          'raw',
          'tedious + ManagedIdentityCredential (token-credential)',
          'createSqlConnector(), azure-identity',
        ),
        coldRow(
          'msal backend',
          'keyless-msal',
          'raw-msal',
          'tedious + MSAL ManagedIdentityApplication (access token)',
          'createSqlConnector(), msal',
        ),
      ],
    },
  ],
};
for (const table of results.tables) {
  console.log(`\n${table.title}`);
  console.table(
    table.rows.map(({ measure, unit, raw, keyless, ratio, goal }) => ({
      measure,
      unit,
      raw,
      keyless,
      ratio,
      goal,
    })),
  );
}

const resultsFile = fileURLToPath(new URL('../../../bench-results/sql.json', import.meta.url));
mkdirSync(dirname(resultsFile), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${resultsFile}`);
// --- raw tedious (bench/raw-tedious.ts) ---

function openRaw(token: string): Promise<Connection> {
  return openRawConnection({ server, port, database, ca }, token);
}

function close(connection: Connection): void {
  connection.close();
}

/** One connection runs one request at a time: concurrent callers queue, as they would in an app. */
function serialised(work: (connection: Connection) => Promise<unknown>, connection: Connection): RunQuery {
  let queue: Promise<unknown> = Promise.resolve();
  return () => {
    const run = queue.then(() => work(connection));
    queue = run.catch(() => undefined);
    return run;
  };
}

/** A hand-made pool of `size` raw connections (bench/raw-tedious.ts's minimal pool). */
async function openRawPool(token: string, size: number) {
  return minimalPool(await Promise.all(Array.from({ length: size }, () => openRaw(token))));
}

// --- measuring ---

/** A full collection when Node was started with --expose-gc (the bench script does); else nothing. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function sequential(run: RunQuery, queries: number): Promise<Series> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let index = 0; index < queries; index += 1) {
    const begin = performance.now();
    await run();
    latencies.push((performance.now() - begin) * 1000);
  }
  return summarise(latencies, performance.now() - started);
}

async function concurrent(run: RunQuery, workers: number, perWorker: number): Promise<Series> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let index = 0; index < perWorker; index += 1) {
        const begin = performance.now();
        await run();
        latencies.push((performance.now() - begin) * 1000);
      }
    }),
  );
  return summarise(latencies, performance.now() - started);
}

function summarise(latencies: number[], elapsedMilliseconds: number): Series {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
  return {
    queriesPerSecond: latencies.length / (elapsedMilliseconds / 1000),
    meanMicroseconds: latencies.reduce((total, value) => total + value, 0) / latencies.length,
    p50Microseconds: at(0.5),
    p99Microseconds: at(0.99),
    queries: latencies.length,
  };
}

function medianRound(rounds: Series[]): Series {
  const sorted = [...rounds].sort((a, b) => a.queriesPerSecond - b.queriesPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as Series;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
