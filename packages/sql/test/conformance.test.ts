import { fileURLToPath } from 'node:url';
import type { TokenProvider } from '@keyless/core';
import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createSqlConnector } from '../src/index.js';

/**
 * The server-less groups of the connector conformance suite for @keyless/sql: configuration
 * and lifecycle, run by `pnpm test:fast`. Against-the-stack runs in
 * conformance-against-the-stack.test.ts; the error-mapping group in test/sql-error-mapping.test.ts,
 * the home of the mapping table, so that the table is written once and its file needs no server.
 */

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

/** Never asked: the configuration group only constructs and closes. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token at construction')),
} as unknown as TokenProvider;

describeConnectorConformanceSuite({
  name: '@keyless/sql',
  configuration: {
    create: createSqlConnector,
    // Not loopback: NODE_TLS_REJECT_UNAUTHORIZED=0 must be refused for it.
    validOptions: {
      server: 'myserver.database.windows.net',
      port: 1433,
      database: 'orders',
      tokenProvider: unusedProvider,
    },
    settings: [
      {
        option: 'server',
        variable: 'KEYLESS_SQL_SERVER',
        required: true,
        variableValue: 'otherserver.database.windows.net',
        // A pasted connection string, where the host name belongs.
        malformed: {
          option: 'Server=tcp:myserver.database.windows.net;Database=orders',
          variable: 'Server=tcp:otherserver.database.windows.net;Encrypt=True',
        },
      },
      {
        option: 'port',
        variable: 'KEYLESS_SQL_PORT',
        variableValue: '11433',
        malformed: { option: 70_000, variable: 'fourteen-thirty-three' },
      },
      // Any name that is not blank is a database name (a blank variable counts as unset).
      { option: 'database', variable: 'KEYLESS_SQL_DATABASE', required: true, variableValue: 'other' },
      {
        // Without the option, the connector builds its own provider, whose backend comes from here.
        option: 'tokenProvider',
        variable: 'KEYLESS_TOKEN_PROVIDER',
        variableValue: 'msal',
        // The classic mix-up: the backend's name where the provider belongs.
        malformed: { option: 'msal', variable: 'kerberos' },
      },
    ],
    tlsWeakening: [
      { option: 'encrypt', value: false },
      { option: 'trustServerCertificate', value: true },
      { option: 'rejectUnauthorized', value: false },
      { option: 'checkServerIdentity', value: () => undefined },
      { option: 'servername', value: 'another-name.example' },
      { option: 'cryptoCredentialsDetails.rejectUnauthorized', value: false },
      // tedious's own TLS settings: a CA that replaces the trust store, and the name to check.
      { option: 'cryptoCredentialsDetails', value: { ca: 'the attacker CA' } },
      { option: 'options.trustServerCertificate', value: true },
      { option: 'options', value: { encrypt: false } },
      { option: 'options', value: { serverName: 'another-name.example' } },
      // A custom tedious connector would decide where the token goes.
      { option: 'connector', value: async () => undefined },
      { option: 'server', value: 'Server=tcp:myserver.database.windows.net;TrustServerCertificate=True' },
      { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
    ],
  },
  lifecycle: {
    // tedious's refused connection is retried (maxLoginAttempts, 250 ms backoff doubling): well
    // inside the group's default bound, which stays.
    create: ({ host, port, tokenProvider }) =>
      createSqlConnector({ server: host, port, database: 'orders', tokenProvider }),
    use: (connector) => connector.query('SELECT 1'),
    oneOffScript: {
      folder: packageFolder,
      // Also checks what connect() says about the closed port: main() rejects on anything else.
      source: ({ host, port }) => `import { createSqlConnector } from '@keyless/sql';
async function main() {
  const tokenProvider = { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3600000 }) };
  const sql = createSqlConnector({ server: '${host}', port: ${port}, database: 'orders', tokenProvider });
  const error = await sql.connect().then(() => undefined, (caught) => caught);
  await sql.close();
  await sql.close();
  if (error?.name !== 'ServiceUnavailableError' || !/could not be reached/.test(error.message)) throw error ?? new Error('connect() resolved');
  return 'closed';
}`,
    },
  },
});
