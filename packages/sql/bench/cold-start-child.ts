// One cold process: create a client, log in, run `SELECT 1`, print how long that took, exit.
// Started by sql.bench.ts with the stack's environment (NODE_EXTRA_CA_CERTS is read at start-up).
// argv[2] — like for like, each keyless contender against the raw library doing the same work:
// - `keyless` (@keyless/sql from dist, azure-identity backend) vs `raw`: tedious with
//   ManagedIdentityCredential as `token-credential`, as in Microsoft's sample;
// - `keyless-msal` (KEYLESS_TOKEN_PROVIDER=msal) vs `raw-msal`: MSAL's ManagedIdentityApplication
//   (the copy @keyless/core installs) for the token, handed to tedious as an access token.
import { createRequire } from 'node:module';

const started = performance.now();
const contender = process.argv[2];
const server = process.env.KEYLESS_SQL_SERVER as string;
const port = Number(process.env.KEYLESS_SQL_PORT);
const database = process.env.KEYLESS_SQL_DATABASE as string;
const clientId = process.env.AZURE_CLIENT_ID as string;

if (contender === 'keyless' || contender === 'keyless-msal') {
  if (contender === 'keyless-msal') process.env.KEYLESS_TOKEN_PROVIDER = 'msal';
  const { createSqlConnector } = await import('@keyless/sql');
  const sql = createSqlConnector();
  await sql.query('SELECT 1');
  const elapsed = performance.now() - started;
  const cpu = cpuMilliseconds();
  await sql.close();
  console.log(JSON.stringify({ milliseconds: elapsed, cpuMilliseconds: cpu }));
} else {
  const { Connection, Request } = await import('tedious');
  let authentication: import('tedious').ConnectionAuthentication;
  if (contender === 'raw-msal') {
    const fromCore = createRequire(import.meta.resolve('@keyless/core'));
    const msal = fromCore('@azure/msal-node') as {
      ManagedIdentityApplication: new (configuration: {
        managedIdentityIdParams: { userAssignedClientId: string };
      }) => { acquireToken(request: { resource: string }): Promise<{ accessToken: string }> };
    };
    const application = new msal.ManagedIdentityApplication({
      managedIdentityIdParams: { userAssignedClientId: clientId },
    });
    const result = await application.acquireToken({ resource: 'https://database.windows.net' });
    authentication = { type: 'azure-active-directory-access-token', options: { token: result.accessToken } };
  } else {
    const { ManagedIdentityCredential } = await import('@azure/identity');
    authentication = {
      type: 'token-credential',
      options: { credential: new ManagedIdentityCredential({ clientId }) },
    };
  }
  const connection = new Connection({ server, authentication, options: { port, database, encrypt: true } });
  await new Promise<void>((resolve, reject) =>
    connection.connect((error) => (error ? reject(error) : resolve())),
  );
  await new Promise<void>((resolve, reject) => {
    connection.execSqlBatch(new Request('SELECT 1', (error) => (error ? reject(error) : resolve())));
  });
  const elapsed = performance.now() - started;
  const cpu = cpuMilliseconds();
  connection.close();
  console.log(JSON.stringify({ milliseconds: elapsed, cpuMilliseconds: cpu }));
}

/** CPU time (user + system) of this process so far: a load that delays it changes this far less. */
function cpuMilliseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
