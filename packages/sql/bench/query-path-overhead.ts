// keyless's own cost per query, without the network and the server (issue 11: "profile the
// acquire/validate/release path"): the throughput bench and query-path-ab.ts include the endpoint
// and tedious's I/O, whose run-to-run noise (±1–3 %) is larger than what this path costs.
//   node --expose-gc bench/query-path-overhead.ts [rounds] [queries per round]
// Real connections are logged in (keyless's pool of 16, through the local SQL endpoint); then each
// one's execSqlBatch is replaced by an answer in a microtask — the events tedious emits for
// `SELECT 1` (columnMetadata, row, doneInProc) and the request's callback — so that what remains
// is the path from the caller to tedious and back. Contenders, 16 workers each, interleaved rounds:
//   keyless — connector.query('SELECT 1');
//   raw     — the benches' minimal pool and raw tedious request over the same connections.
// Prints the median ns per query of each and the difference: keyless's frames per query.
import { createSqlConnectorWithInternals } from '@keyless/sql/testing';
import type { Connection, Request } from 'tedious';
import { minimalPool, rawQuery, startLocalSql } from './raw-tedious.ts';

const rounds = Number(process.argv[2] ?? 51);
const queriesPerRound = Number(process.argv[3] ?? 200_000);
const workers = 16;

const local = await startLocalSql('keyless-sql-overhead-');
const connections: Connection[] = [];
const keyless = createSqlConnectorWithInternals(
  { ...local.target, tokenProvider: local.tokens, pool: { max: workers } },
  { onConnection: (connection) => connections.push(connection) },
);
await Promise.all(Array.from({ length: workers }, () => keyless.query('SELECT 1')));
// Queries finish before the last logins do (a free connection serves the queue meanwhile); the
// rounds below never yield to I/O, so every login must be done before they start.
while (keyless.poolStatus().idle < workers) await new Promise((resolve) => setTimeout(resolve, 10));

/** What tedious hands a request for `SELECT 1`: one unnamed int column, one row. */
const metadata = [{ colName: '', type: { name: 'Int' } }];
const columns = [{ metadata: metadata[0], value: 1 }];
/** The two things of a tedious Request this fake answer uses (tedious's typings list its events). */
interface AnsweredRequest {
  emit(event: string, ...values: unknown[]): boolean;
  callback(error: Error | null | undefined, rowCount?: number, rows?: unknown[]): void;
}
for (const connection of connections) {
  connection.execSqlBatch = (request: Request) => {
    queueMicrotask(() => {
      const answered = request as unknown as AnsweredRequest;
      answered.emit('columnMetadata', metadata);
      answered.emit('row', columns);
      answered.emit('doneInProc', 1, false, []);
      answered.callback(undefined, 1, []);
    });
  };
}

const pool = minimalPool([...connections]);
const contenders: [string, () => Promise<unknown>][] = [
  ['keyless', () => keyless.query('SELECT 1')],
  ['raw', () => pool.run((connection) => rawQuery(connection))],
];

async function round(run: () => Promise<unknown>, queries: number): Promise<number> {
  // Let the event loop turn between rounds (timers, the pool's reaper): a round itself is microtasks only.
  await new Promise((resolve) => setImmediate(resolve));
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let index = 0; index < queries / workers; index += 1) await run();
    }),
  );
  return Number(process.hrtime.bigint() - started) / queries;
}

for (const [, run] of contenders) await round(run, queriesPerRound);
const results = new Map<string, number[]>();
for (let index = 0; index < rounds; index += 1) {
  const order = index % 2 === 0 ? contenders : [...contenders].reverse();
  for (const [name, run] of order)
    results.set(name, [...(results.get(name) ?? []), await round(run, queriesPerRound)]);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const keylessNs = median(results.get('keyless') ?? []);
const rawNs = median(results.get('raw') ?? []);
console.log(`16 workers, ${rounds} rounds of ${queriesPerRound} queries, no I/O, Node ${process.version}`);
console.log(
  `keyless ${keylessNs.toFixed(0)} ns/query · raw ${rawNs.toFixed(0)} ns/query · keyless's frames ${(keylessNs - rawNs).toFixed(0)} ns/query`,
);
await keyless.close();
await local.stop();
