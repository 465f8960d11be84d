import https from 'node:https';
import { fileURLToPath } from 'node:url';
import type { TokenProvider } from '@keyless/core';
import { describeConnectorConformanceSuite } from '@keyless/testing';
import {
  createKeyVaultConnector,
  type KeyVaultConnector,
  type KeyVaultConnectorOptions,
} from '../src/index.js';

/**
 * The server-less groups of the connector conformance suite for @keyless/keyvault: configuration
 * and lifecycle, run by `pnpm test:fast`. Against-the-stack runs in
 * conformance-against-the-stack.test.ts; the error-mapping group in test/keyvault-error-mapping.test.ts,
 * the home of the mapping table, so that the table is written once and its file needs no server.
 */

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

/** Never asked: the configuration group only constructs and closes. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token at construction')),
} as unknown as TokenProvider;

/** The secret the lifecycle group's connect() reads; the one the stack seeds. */
const secretName = 'demo-message';

/**
 * The lifecycle group calls `connect()` without arguments. Key Vault's connect() without names only
 * gets a token for the vault (it proves the identity and sends nothing to the vault: README); with
 * `secrets` it also reads them, which is what reaches the vault — the start-up check an application
 * that wants to learn of a wrong or unreachable vault makes. Everything else is the connector's own.
 */
function connectingToTheVault(vault: KeyVaultConnector) {
  return {
    vault,
    connect: () => vault.connect({ secrets: [secretName] }),
    close: () => vault.close(),
  };
}

/**
 * Not loopback: NODE_TLS_REJECT_UNAUTHORIZED=0, plain http and turning off the challenge check must
 * be refused for it.
 */
const validOptions: KeyVaultConnectorOptions = {
  vaultUrl: 'https://keyless.vault.azure.net',
  tokenProvider: unusedProvider,
};

describeConnectorConformanceSuite({
  name: '@keyless/keyvault',
  configuration: {
    create: createKeyVaultConnector,
    validOptions,
    settings: [
      {
        option: 'vaultUrl',
        variable: 'KEYLESS_KEYVAULT_URL',
        required: true,
        variableValue: 'https://other.vault.azure.net',
        // The vault's name where its URI belongs; a URL that is not https.
        malformed: { option: 'keyless', variable: 'http://keyless.vault.azure.net' },
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
      // An attacker's CA is only trusting a CA; a check that accepts any name beside it is not.
      {
        option: 'clientOptions.tlsOptions.checkServerIdentity',
        options: {
          ...validOptions,
          clientOptions: { tlsOptions: { ca: 'the attacker CA', checkServerIdentity: () => undefined } },
        },
      },
      { option: 'clientOptions.tlsOptions.servername', value: 'another-name.example' },
      { option: 'clientOptions.tlsOptions.secureContext', value: {} },
      { option: 'clientOptions.tlsOptions.pskCallback', value: () => null },
      // A transport of the user's making: keyless cannot see what it verifies.
      { option: 'clientOptions.httpClient', value: { sendRequest: async () => undefined } },
      { option: 'clientOptions.agent', value: new https.Agent({ checkServerIdentity: () => undefined }) },
      // The SDK's check that the challenge names the vault's domain: off for loopback only.
      { option: 'clientOptions.disableChallengeResourceVerification', value: true },
      { option: 'vaultUrl', value: 'http://keyless.vault.azure.net' },
      { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
    ],
  },
  lifecycle: {
    create: ({ url, tokenProvider }) =>
      connectingToTheVault(createKeyVaultConnector({ vaultUrl: url, tokenProvider })),
    use: ({ vault }) => vault.secret(secretName).get(),
    oneOffScript: {
      folder: packageFolder,
      // Also checks what connect() says about the closed port: main() rejects on anything else.
      source: ({ url }) => `import { createKeyVaultConnector } from '@keyless/keyvault';
async function main() {
  const tokenProvider = { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3600000 }) };
  const vault = createKeyVaultConnector({ vaultUrl: '${url}', tokenProvider });
  const error = await vault.connect({ secrets: ['${secretName}'] }).then(() => undefined, (caught) => caught);
  await vault.close();
  await vault.close();
  if (error?.name !== 'ServiceUnavailableError' || !/could not be reached/.test(error.message)) throw error ?? new Error('connect() resolved');
  return 'closed';
}`,
    },
  },
});
