// One cold process: create a client, log in, run `SELECT 1`, print how long that took, exit.
// Started by sql.bench.ts with the stack's environment (NODE_EXTRA_CA_CERTS is read at start-up).
// argv[2]: `keyless` (@keyless/sql from dist) or `raw` (tedious + ManagedIdentityCredential, as in
// Microsoft's sample).
const started = performance.now();
const contender = process.argv[2];
const server = process.env.KEYLESS_SQL_SERVER as string;
const port = Number(process.env.KEYLESS_SQL_PORT);
const database = process.env.KEYLESS_SQL_DATABASE as string;

if (contender === 'keyless') {
  const { createSqlConnector } = await import('@keyless/sql');
  const sql = createSqlConnector();
  await sql.query('SELECT 1');
  const elapsed = performance.now() - started;
  await sql.close();
  console.log(JSON.stringify({ milliseconds: elapsed }));
} else {
  const { ManagedIdentityCredential } = await import('@azure/identity');
  const { Connection, Request } = await import('tedious');
  const connection = new Connection({
    server,
    authentication: {
      type: 'token-credential',
      options: {
        credential: new ManagedIdentityCredential({ clientId: process.env.AZURE_CLIENT_ID as string }),
      },
    },
    options: { port, database, encrypt: true },
  });
  await new Promise<void>((resolve, reject) =>
    connection.connect((error) => (error ? reject(error) : resolve())),
  );
  await new Promise<void>((resolve, reject) => {
    connection.execSqlBatch(new Request('SELECT 1', (error) => (error ? reject(error) : resolve())));
  });
  const elapsed = performance.now() - started;
  connection.close();
  console.log(JSON.stringify({ milliseconds: elapsed }));
}
