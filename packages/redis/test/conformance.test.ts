import { fileURLToPath } from 'node:url';
import { entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import {
  type ConfigurationSetting,
  describeConfigurationConformance,
  describeConnectorConformanceSuite,
  type TlsWeakeningRow,
} from '@keyless/testing';
import { createRedisConnector, type RedisConnectorOptions } from '../src/index.ts';

/**
 * The server-less groups of the connector conformance suite for @keyless/redis: configuration (in both password modes)
 * and lifecycle, run by `pnpm test:fast`. Against-the-stack runs in
 * conformance-against-the-stack.test.ts; the error-mapping group in test/redis-error-mapping.test.ts,
 * the home of the mapping table, so that the table is written once and its file needs no server.
 */

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

/** Never asked: the configuration group only constructs and closes. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token at construction')),
} as unknown as TokenProvider;

/** An object id, as the cache's access policy assignment names the identity. */
const objectId = '00000000-0000-0000-0000-00000000000a';

/**
 * Not loopback: plaintext and NODE_TLS_REJECT_UNAUTHORIZED=0 must be refused for it. `tls` is left
 * to its default (on for 6380), so a TLS port from either variable keeps the connection verified.
 * Secret mode, with a Key Vault connector of the binding's own making (its vault URL is a setting
 * too). Nothing is fetched at construction.
 */
const secretModeOptions: RedisConnectorOptions = {
  host: 'cache.example',
  port: 6380,
  user: 'keyless-app',
  password: fromKeyVaultSecret({ secretName: 'redis-password', vaultUrl: 'https://keyless.vault.azure.net' }),
  tokenProvider: unusedProvider,
};

/** Entra mode: the user is the identity's object id, from its own variable; never read out of the token. */
const entraModeOptions: RedisConnectorOptions = {
  host: 'cache.example',
  port: 6380,
  user: objectId,
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

/**
 * Every path by which the password or token could leave without verified TLS, go elsewhere or be
 * replaced, refused at construction (the attacker suite, test/redis-tls-attacker.test.ts, proves
 * the paths refused later against a man in the middle).
 */
const tlsWeakening: TlsWeakeningRow<RedisConnectorOptions>[] = [
  // `tls` is copied into tls.connect() wholesale: only `{ ca }` is taken.
  { option: 'tls.rejectUnauthorized', value: false },
  { option: 'tls.checkServerIdentity', value: () => undefined },
  { option: 'tls.servername', value: 'another-name.example' },
  { option: 'tls.secureContext', value: {} },
  { option: 'tls.host', value: 'another-host.example' },
  { option: 'tls.port', value: 1 },
  { option: 'tls', value: false },
  // Not a TLS port, with `tls` unset: plaintext.
  { option: 'port', value: 6379 },
  { variable: 'KEYLESS_REDIS_PORT', value: '6379', options: { ...secretModeOptions, port: undefined } },
  // ioredis's own options: where to connect, as whom and over what are keyless's.
  { option: 'redisOptions.tls.rejectUnauthorized', value: false },
  {
    // `tls: false` cannot be combined with an unverified TLS of ioredis's.
    option: 'redisOptions.tls.rejectUnauthorized',
    options: {
      ...secretModeOptions,
      tls: false,
      redisOptions: { tls: { rejectUnauthorized: false } } as never,
    },
  },
  { option: 'redisOptions.tls', value: {} },
  { option: 'redisOptions.Connector', value: class {} },
  { option: 'redisOptions.path', value: '/tmp/keyless-redis.sock' },
  { option: 'redisOptions.host', value: 'another-host.example' },
  { option: 'redisOptions.port', value: 6380 },
  { option: 'redisOptions.username', value: 'default' },
  { option: 'redisOptions.password', value: 'smuggled-password' },
  // Sentinel: connections keyless does not check, a second secret, remapped addresses.
  { option: 'redisOptions.sentinels', value: [{ host: 'another-host.example', port: 26379 }] },
  { option: 'redisOptions.sentinelPassword', value: 'sentinel-secret' },
  { option: 'redisOptions.sentinelTLS.rejectUnauthorized', value: false },
  { option: 'redisOptions.sentinelTLS', value: {} },
  { option: 'redisOptions.enableTLSForSentinelMode', value: true },
  { option: 'redisOptions.natMap', value: { '10.0.0.1:6380': { host: 'another-host.example', port: 6380 } } },
  { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
];

describeConnectorConformanceSuite({
  name: '@keyless/redis',
  configuration: {
    create: createRedisConnector,
    validOptions: secretModeOptions,
    settings: [
      {
        option: 'host',
        variable: 'KEYLESS_REDIS_HOST',
        required: true,
        variableValue: 'other-cache.example',
        malformed: { option: 'rediss://cache.example', variable: 'cache.example:6380' },
      },
      // The TLS port first; the plain one's value is a TLS port here, so TLS stays on.
      {
        option: 'port',
        variable: 'KEYLESS_REDIS_TLS_PORT',
        variableValue: '6380',
        malformed: { option: 70_000, variable: 'six-three-eight-zero' },
      },
      {
        option: 'port',
        variable: 'KEYLESS_REDIS_PORT',
        variableValue: '10000',
        malformed: { option: 0, variable: '6380.5' },
      },
      // Optional: without it, Redis's `default` user (the access keys). A blank variable counts as unset.
      { option: 'user', variable: 'KEYLESS_REDIS_USER', variableValue: 'other-user' },
      {
        // The secret holding the password: fromKeyVaultSecret({ secretName }), else the variable.
        option: 'secretName',
        path: 'password.secretName',
        variable: 'KEYLESS_REDIS_PASSWORD_SECRET',
        required: true,
        variableValue: 'other-password',
        // Key Vault's rule: 1–127 letters, digits and dashes.
        malformed: { option: 'redis/password', variable: 'redis_password' },
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
    create: ({ host, port, tokenProvider }) =>
      createRedisConnector({ host, port, tls: true, password: entraToken(), user: objectId, tokenProvider }),
    use: (connector) => connector.client.incr('conformance:lifecycle'),
    oneOffScript: {
      folder: packageFolder,
      // Also checks what connect() says about the closed port: main() rejects on anything else.
      source: ({ host, port }) => `import { entraToken } from '@keyless/core';
import { createRedisConnector } from '@keyless/redis';
async function main() {
  const tokenProvider = { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3600000 }) };
  const redis = createRedisConnector({
    host: '${host}', port: ${port}, tls: true, password: entraToken(), user: '${objectId}', tokenProvider,
  });
  const error = await redis.connect().then(() => undefined, (caught) => caught);
  await redis.close();
  await redis.close();
  if (error?.name !== 'ServiceUnavailableError' || !/could not be reached/.test(error.message)) throw error ?? new Error('connect() resolved');
  return 'closed';
}`,
    },
  },
});

/**
 * Entra mode reads its user (the object id) from its own variable and requires it, and makes a
 * provider when none is given. The TLS guard runs before the mode is known: the full table is
 * above; these rows show that it holds in this mode too.
 */
describeConfigurationConformance({
  name: '@keyless/redis with entraToken()',
  create: createRedisConnector,
  validOptions: entraModeOptions,
  settings: [
    { option: 'user', variable: 'KEYLESS_REDIS_ENTRA_USER', required: true, variableValue: objectId },
    tokenProviderSetting,
  ],
  tlsWeakening: [
    { option: 'tls', value: false },
    { option: 'tls.rejectUnauthorized', value: false },
    { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
  ],
});
