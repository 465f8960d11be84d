// Profiles one contender of the SQL throughput bench alone, for `node --cpu-prof`:
//   node --cpu-prof --cpu-prof-dir=<folder> bench/profile-query-path.ts <contender> [seconds]
// It warms the path first and prints the measured window on the profile's clock (monotonic µs), so
// that a summary can count only the samples of that window, per query (README, Performance).
// contender: keyless-sequential | raw-sequential | keyless-16 | raw-pool-16.
// The local SQL endpoint runs in this process (as in sql.bench.ts), so the profile shows the
// endpoint's share too; compare a keyless profile with the raw one of the same shape.
import { createSqlConnectorWithInternals } from '@keyless/sql/testing';
import { minimalPool, openRawConnection, rawQuery, startLocalSql } from './raw-tedious.ts';

const contender = process.argv[2] ?? 'keyless-sequential';
const seconds = Number(process.argv[3] ?? 5);
const local = await startLocalSql('keyless-sql-profile-');
const { target, tokens, token } = local;

let run: () => Promise<unknown>;
const workers = contender.endsWith('16') ? 16 : 1;
/** Logins and ended connections of the keyless pool: none should happen in the measured window. */
let logins = 0;
let ended = 0;
const closers: (() => unknown)[] = [];
if (contender.startsWith('keyless')) {
  const keyless = createSqlConnectorWithInternals(
    { ...target, tokenProvider: tokens, pool: { max: 16 } },
    {
      onConnection: (connection) => {
        logins += 1;
        connection.on('end', () => (ended += 1));
      },
    },
  );
  run = () => keyless.query('SELECT 1');
  closers.push(() => keyless.close());
} else {
  const size = contender.endsWith('16') ? 16 : 1;
  const pool = minimalPool(
    await Promise.all(Array.from({ length: size }, () => openRawConnection(target, token))),
  );
  run = () => pool.run((connection) => rawQuery(connection));
  closers.push(() => pool.close());
}

// Warm the path first, so that the measured window holds queries only (no logins, no JIT warm-up).
await Promise.all(
  Array.from({ length: workers }, async () => {
    for (let index = 0; index < 2_000 / workers; index += 1) await run();
  }),
);
const windowStart = process.hrtime.bigint() / 1000n;
const loginsBefore = logins;
const endedBefore = ended;
const until = performance.now() + seconds * 1000;
let queries = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: workers }, async () => {
    while (performance.now() < until) {
      await run();
      queries += 1;
    }
  }),
);
const elapsed = performance.now() - started;
const windowEnd = process.hrtime.bigint() / 1000n;
console.log(
  `${contender}: ${Math.round(queries / (elapsed / 1000))} q/s (${queries} queries; logins ${loginsBefore} before, ${logins - loginsBefore} during; ${ended - endedBefore} connections ended during)`,
);
// The measured window on the CPU profile's clock (monotonic µs), for a summary of that window only.
console.log(
  JSON.stringify({ contender, queries, windowStart: String(windowStart), windowEnd: String(windowEnd) }),
);
for (const close of closers) await close();
await local.stop();
