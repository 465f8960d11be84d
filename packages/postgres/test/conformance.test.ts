import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import {
  type ConfigurationSetting,
  describeConfigurationConformance,
  describeConnectorConformanceSuite,
  type TlsWeakeningRow,
} from '@keyless/testing';
import pg from 'pg';
import { createPostgresConnector, type PostgresConnectorOptions } from '../src/index.js';

/**
 * The server-less groups of the connector conformance suite for @keyless/postgres: configuration (in both password modes)
 * and lifecycle, run by `pnpm test:fast`. Against-the-stack runs in
 * conformance-against-the-stack.test.ts; the error-mapping group in test/postgres-error-mapping.test.ts,
 * the home of the mapping table, so that the table is written once and its file needs no server.
 */

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

/** Never asked: the configuration group only constructs and closes. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token at construction')),
} as unknown as TokenProvider;

/** Not loopback: NODE_TLS_REJECT_UNAUTHORIZED=0 and `ssl: false` must be refused for it. */
const host = 'db.example';

/**
 * Secret mode, with a Key Vault connector of the binding's own making (so its vault URL is a
 * setting too). Nothing is fetched at construction.
 */
const secretModeOptions: PostgresConnectorOptions = {
  host,
  port: 5432,
  database: 'app',
  user: 'keyless_app',
  password: fromKeyVaultSecret({
    secretName: 'postgres-password',
    vaultUrl: 'https://keyless.vault.azure.net',
  }),
  tokenProvider: unusedProvider,
};

/** Entra mode: the user is the identity's role, read from its own variable first. */
const entraModeOptions: PostgresConnectorOptions = {
  host,
  port: 5432,
  database: 'app',
  user: 'my-app',
  password: entraToken(),
  tokenProvider: unusedProvider,
};

/** Without the option, the connector builds its own provider, whose backend comes from here. */
const tokenProviderSetting: ConfigurationSetting = {
  option: 'tokenProvider',
  variable: 'KEYLESS_TOKEN_PROVIDER',
  variableValue: 'msal',
  // The classic mix-up: the backend's name where the provider belongs.
  malformed: { option: 'msal', variable: 'kerberos' },
};

/** A connection string, a URL, a socket path — pg would read some of them as settings of their own. */
const hostsThatAreNotHostNames = [
  `postgresql://app@${host}/postgres?sslmode=disable`,
  `${host}?sslmode=no-verify`,
  `host=${host} sslmode=disable`,
  '/tmp',
];

/** Every TLS setting that weakens verification, at `path` (`ssl`, `pool.ssl`). */
const weakenedSsl = (path: string): TlsWeakeningRow<PostgresConnectorOptions>[] => [
  { option: `${path}.rejectUnauthorized`, value: false },
  { option: `${path}.checkServerIdentity`, value: () => undefined },
  { option: `${path}.servername`, value: 'another-name.example' },
  { option: `${path}.sslmode`, value: 'no-verify' },
  { option: `${path}.secureContext`, value: {} },
];

/**
 * Every path by which the password or token could leave without verified TLS, refused at
 * construction (the attacker suite, test/postgres-tls-attacker.test.ts, proves the paths refused
 * later against a man in the middle).
 */
const tlsWeakening: TlsWeakeningRow<PostgresConnectorOptions>[] = [
  ...weakenedSsl('ssl'),
  { option: 'ssl', value: false },
  // pg's own spelling of "do not verify".
  { option: 'ssl', value: 'no-verify' },
  // pg-pool hands its options to every Client, whatever the types say.
  ...weakenedSsl('pool.ssl'),
  { option: 'pool.ssl', value: true },
  { option: 'pool.sslmode', value: 'no-verify' },
  { option: 'pool.sslmode', value: 'disable' },
  { option: 'pool.connectionString', value: `postgresql://${host}/postgres?sslmode=no-verify` },
  { option: 'pool.host', value: 'another-host.example' },
  { option: 'pool.port', value: 5433 },
  // A Client class, a stream or a Connection of the user's making decides where the bytes go.
  { option: 'pool.Client', value: pg.Client },
  { option: 'pool.stream', value: () => new Socket() },
  { option: 'pool.connection', value: {} },
  ...hostsThatAreNotHostNames.map((value) => ({ option: 'host', value })),
  {
    variable: 'KEYLESS_POSTGRES_HOST',
    value: `postgresql://${host}/postgres?sslmode=no-verify`,
    options: { ...secretModeOptions, host: undefined },
  },
  { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
];

/** Where the server is and who logs in: the same in both modes. */
const serverSettings: ConfigurationSetting[] = [
  {
    option: 'host',
    variable: 'KEYLESS_POSTGRES_HOST',
    required: true,
    variableValue: 'from-the-variable.example',
    malformed: { option: `postgres://${host}`, variable: `host=${host} sslmode=disable` },
  },
  {
    option: 'port',
    variable: 'KEYLESS_POSTGRES_PORT',
    variableValue: '6432',
    malformed: { option: 70_000, variable: 'five' },
  },
  // Any name that is not blank is a database name (a blank variable counts as unset).
  { option: 'database', variable: 'KEYLESS_POSTGRES_DATABASE', variableValue: 'other' },
];

describeConnectorConformanceSuite({
  name: '@keyless/postgres',
  configuration: {
    create: createPostgresConnector,
    validOptions: secretModeOptions,
    settings: [
      ...serverSettings,
      { option: 'user', variable: 'KEYLESS_POSTGRES_USER', required: true, variableValue: 'other_role' },
      {
        // The secret holding the password: fromKeyVaultSecret({ secretName }), else the variable.
        option: 'secretName',
        path: 'password.secretName',
        variable: 'KEYLESS_POSTGRES_PASSWORD_SECRET',
        required: true,
        variableValue: 'other-password',
        // Key Vault's rule: 1–127 letters, digits and dashes.
        malformed: { option: 'postgres/password', variable: 'postgres_password' },
      },
      {
        // The vault of the Key Vault connector the binding makes: fromKeyVaultSecret({ vaultUrl }), else the variable.
        option: 'vaultUrl',
        path: 'password.vaultUrl',
        variable: 'KEYLESS_KEYVAULT_URL',
        required: true,
        variableValue: 'https://other.vault.azure.net',
        malformed: { option: 'keyless', variable: 'http://keyless.vault.azure.net' },
      },
      tokenProviderSetting,
    ],
    tlsWeakening,
  },
  lifecycle: {
    create: ({ host: targetHost, port, tokenProvider }) =>
      createPostgresConnector({
        host: targetHost,
        port,
        database: 'app',
        user: 'my-app',
        password: entraToken(),
        tokenProvider,
        // A closed port is refused at once; without this, connect() would wait out a "restart".
        connectRetryMs: 0,
      }),
    use: (connector) => connector.query('SELECT 1'),
    oneOffScript: {
      folder: packageFolder,
      // Also checks what connect() says about the closed port: main() rejects on anything else.
      source: ({ host: targetHost, port }) => `import { entraToken } from '@keyless/core';
import { createPostgresConnector } from '@keyless/postgres';
async function main() {
  const tokenProvider = { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3600000 }) };
  const db = createPostgresConnector({
    host: '${targetHost}', port: ${port}, database: 'app', user: 'my-app', password: entraToken(), tokenProvider, connectRetryMs: 0,
  });
  const error = await db.connect().then(() => undefined, (caught) => caught);
  await db.close();
  await db.close();
  if (error?.name !== 'ServiceUnavailableError' || !/could not be reached/.test(error.message)) throw error ?? new Error('connect() resolved');
  return 'closed';
}`,
    },
  },
});

/**
 * Entra mode reads its user from its own variable first, then the plain one (a row each), and makes
 * a provider when none is given. The TLS guard runs before the mode is known: the full table is
 * above; these rows show that it holds in this mode too.
 */
describeConfigurationConformance({
  name: '@keyless/postgres with entraToken()',
  create: createPostgresConnector,
  validOptions: entraModeOptions,
  settings: [
    { option: 'user', variable: 'KEYLESS_POSTGRES_ENTRA_USER', required: true, variableValue: 'other-app' },
    { option: 'user', variable: 'KEYLESS_POSTGRES_USER', required: true, variableValue: 'other-app' },
    tokenProviderSetting,
  ],
  tlsWeakening: [
    { option: 'ssl', value: false },
    { option: 'ssl.rejectUnauthorized', value: false },
    { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
  ],
});
