// In-process A/B of the warm query path (issue 11), for the floor the throughput bench cannot show
// on a shared machine (its identical raw contenders differ by up to ±10 % between runs):
//   node bench/query-path-ab.ts <sequential|16-way> [rounds] [queries per round] [baseline testing.js]
// Contenders, in interleaved rounds whose order rotates, against the same local SQL endpoint:
//   keyless              — connector.query('SELECT 1') (pool max 16, warmed to 16 connections);
//   raw on keyless's     — the bench's minimal pool and raw tedious request, on keyless's own tedious
//     connections         connections (same sockets, same TLS, same login): keyless's code, isolated;
//   raw                  — the same on raw tedious connections (static token), as in sql.bench.ts;
//   baseline             — optional: another build's `@keyless/sql/testing` (e.g. the previous commit's
//                           dist/testing.js), for before/after in one process.
// Prints, per contender, the median over rounds of CPU µs per query (process.cpuUsage: time the
// process was descheduled does not count) and wall µs per query, and the median of the per-round
// ratio raw ÷ contender. The endpoint runs in this process, so every figure includes its work.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSqlConnectorWithInternals, type SqlConnectorInternals } from '@keyless/sql/testing';
import type { Connection } from 'tedious';
import { minimalPool, openRawConnection, rawQuery, startLocalSql } from './raw-tedious.ts';

const shape = process.argv[2] === '16-way' ? '16-way' : 'sequential';
const rounds = Number(process.argv[3] ?? 31);
const queriesPerRound = Number(process.argv[4] ?? 3_200);
const baselinePath = process.argv[5];
const workers = shape === '16-way' ? 16 : 1;
const poolSize = 16;

const local = await startLocalSql('keyless-sql-ab-');
const { target, tokens, token } = local;

type RunQuery = () => Promise<unknown>;

/** The bench's minimal pool over `free`, running one raw `SELECT 1` per query. */
function rawOver(free: Connection[]): RunQuery {
  const pool = minimalPool(free);
  return () => pool.run((connection) => rawQuery(connection));
}

type Factory = typeof createSqlConnectorWithInternals;
async function openKeyless(factory: Factory) {
  const connections: Connection[] = [];
  const internals: SqlConnectorInternals = { onConnection: (connection) => connections.push(connection) };
  const connector = factory({ ...target, tokenProvider: tokens, pool: { max: poolSize } }, internals);
  await Promise.all(Array.from({ length: poolSize }, () => connector.query('SELECT 1')));
  return { connector, connections };
}

const keyless = await openKeyless(createSqlConnectorWithInternals);
const rawConnections = await Promise.all(
  Array.from({ length: workers }, () => openRawConnection(target, token)),
);
const contenders: [string, RunQuery][] = [
  ['keyless', () => keyless.connector.query('SELECT 1')],
  ["raw on keyless's connections", rawOver(keyless.connections.slice(0, workers))],
  ['raw', rawOver([...rawConnections])],
];
const closers: (() => unknown)[] = [() => keyless.connector.close()];
if (baselinePath !== undefined) {
  const module = (await import(pathToFileURL(resolve(baselinePath)).href)) as {
    createSqlConnectorWithInternals: Factory;
  };
  const baseline = await openKeyless(module.createSqlConnectorWithInternals);
  contenders.push(['baseline build', () => baseline.connector.query('SELECT 1')]);
  closers.push(() => baseline.connector.close());
}

async function round(run: RunQuery, queries: number) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let index = 0; index < queries / workers; index += 1) await run();
    }),
  );
  const wallMicroseconds = ((performance.now() - started) * 1000) / queries;
  const cpu = process.cpuUsage(cpuBefore);
  return { wallMicroseconds, cpuMicroseconds: (cpu.user + cpu.system) / queries };
}

for (const [, run] of contenders) await round(run, 2_000);
const results = new Map<string, { wallMicroseconds: number; cpuMicroseconds: number }[]>();
for (let index = 0; index < rounds; index += 1) {
  const shift = index % contenders.length;
  for (const [name, run] of [...contenders.slice(shift), ...contenders.slice(0, shift)]) {
    results.set(name, [...(results.get(name) ?? []), await round(run, queriesPerRound)]);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const raw = results.get('raw') ?? [];
console.log(`${shape}, ${rounds} rounds of ${queriesPerRound} queries, Node ${process.version}`);
console.table(
  [...results].map(([name, measured]) => ({
    contender: name,
    'CPU µs/query': median(measured.map((m) => m.cpuMicroseconds)).toFixed(1),
    'wall µs/query': median(measured.map((m) => m.wallMicroseconds)).toFixed(1),
    'raw ÷ this, CPU': median(
      measured.map((m, i) => (raw[i]?.cpuMicroseconds ?? 0) / m.cpuMicroseconds),
    ).toFixed(3),
    'raw ÷ this, wall': median(
      measured.map((m, i) => (raw[i]?.wallMicroseconds ?? 0) / m.wallMicroseconds),
    ).toFixed(3),
  })),
);
for (const close of closers) await close();
for (const connection of rawConnections) connection.close();
await local.stop();
