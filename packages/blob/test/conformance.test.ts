import https from 'node:https';
import { fileURLToPath } from 'node:url';
import type { TokenProvider } from '@keyless/core';
import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createBlobConnector } from '../src/index.js';

/**
 * The server-less groups of the connector conformance suite for @keyless/blob: configuration
 * and lifecycle, run by `pnpm test:fast`. Against-the-stack runs in
 * conformance-against-the-stack.test.ts; the error-mapping group in test/blob-error-mapping.test.ts,
 * the home of the mapping table, so that the table is written once and its file needs no server.
 */

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

/** Never asked: the configuration group only constructs and closes. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token at construction')),
} as unknown as TokenProvider;

/**
 * One try per request. The SDK's default (4 tries, exponential backoff from 4 s) spends about 16 s
 * on a refused connection before it gives up, close to the lifecycle group's 20 s bound for
 * connect() on a loaded machine; with one try the answer comes at once, and the bound stays the
 * group's default.
 */
const oneTry = { retryOptions: { maxTries: 1 } };

describeConnectorConformanceSuite({
  name: '@keyless/blob',
  configuration: {
    create: createBlobConnector,
    // Not loopback: NODE_TLS_REJECT_UNAUTHORIZED=0 and plain http must be refused for it.
    validOptions: {
      accountUrl: 'https://keylessaccount.blob.core.windows.net',
      tokenProvider: unusedProvider,
    },
    settings: [
      {
        option: 'accountUrl',
        variable: 'KEYLESS_BLOB_ACCOUNT_URL',
        required: true,
        variableValue: 'https://otheraccount.blob.core.windows.net',
        malformed: { option: 'keylessaccount', variable: 'ftp://keylessaccount.blob.core.windows.net' },
      },
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
      { option: 'rejectUnauthorized', value: false },
      { option: 'checkServerIdentity', value: () => undefined },
      { option: 'clientOptions.tlsOptions.rejectUnauthorized', value: false },
      { option: 'clientOptions.tlsOptions.checkServerIdentity', value: () => undefined },
      { option: 'clientOptions.tlsOptions.servername', value: 'another-name.example' },
      { option: 'clientOptions.tlsOptions.secureContext', value: {} },
      { option: 'clientOptions.httpClient', value: { sendRequest: async () => undefined } },
      { option: 'clientOptions.agent', value: new https.Agent() },
      { option: 'accountUrl', value: 'http://keylessaccount.blob.core.windows.net' },
      { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
    ],
  },
  lifecycle: {
    create: ({ url, tokenProvider }) =>
      createBlobConnector({ accountUrl: `${url}/devstoreaccount1`, tokenProvider, clientOptions: oneTry }),
    use: (connector) => connector.run((client) => client.getContainerClient('keyless-demo').getProperties()),
    oneOffScript: {
      folder: packageFolder,
      // Also checks what connect() says about the closed port: main() rejects on anything else.
      source: ({ url }) => `import { createBlobConnector } from '@keyless/blob';
async function main() {
  const tokenProvider = { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3600000 }) };
  const blobs = createBlobConnector({
    accountUrl: '${url}/devstoreaccount1', tokenProvider, clientOptions: { retryOptions: { maxTries: 1 } },
  });
  const error = await blobs.connect().then(() => undefined, (caught) => caught);
  await blobs.close();
  await blobs.close();
  if (error?.name !== 'ServiceUnavailableError' || !/could not be reached/.test(error.message)) throw error ?? new Error('connect() resolved');
  return 'closed';
}`,
    },
  },
});
