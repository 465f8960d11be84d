// One cold process: import, build a pool, run one `SELECT 1`, report how long after process start
// that first answer came. Started by postgres.bench.ts with the stack's environment (and
// NODE_EXTRA_CA_CERTS, which Node reads only at start-up).
const contender = process.argv[2];
const environment = process.env;
let firstQuery: () => Promise<unknown>;
let close: () => Promise<void>;

if (contender === 'raw') {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    host: environment.KEYLESS_POSTGRES_HOST,
    port: Number(environment.KEYLESS_POSTGRES_PORT),
    database: environment.KEYLESS_POSTGRES_DATABASE,
    user: environment.KEYLESS_POSTGRES_USER,
    password: environment.BENCH_POSTGRES_PASSWORD,
    ssl: true,
  });
  // An idle client's error (the server stopping) is re-emitted on the pool: never leave it unhandled.
  pool.on('error', () => {});
  firstQuery = () => pool.query('SELECT 1');
  close = () => pool.end();
} else {
  const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
  const { createPostgresConnector } = await import('@keyless/postgres');
  const connector = createPostgresConnector({
    password: contender === 'keyless-entra' ? entraToken() : fromKeyVaultSecret(),
  });
  firstQuery = () => connector.query('SELECT 1');
  close = () => connector.close();
}

await firstQuery();
const milliseconds = performance.now();
await close();
process.stdout.write(`${JSON.stringify({ contender, milliseconds })}\n`);
