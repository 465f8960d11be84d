import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createKeyVaultConnector } from '../src/index.js';

/** The seeded secret every group reads. */
const secretName = 'demo-message';

/**
 * The against-the-stack group of the conformance suite for @keyless/keyvault: it starts the local
 * stack, so it lives apart from the server-less groups in conformance.test.ts, which
 * `pnpm test:fast` runs.
 */
describeConnectorConformanceSuite({
  name: '@keyless/keyvault',
  againstTheStack: {
    services: ['keyvault'],
    resource: 'https://vault.azure.net',
    create: ({ stack, tokenProvider }) => {
      const connector = createKeyVaultConnector({ vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider });
      const source = connector.secret(secretName);
      return {
        use: async () => {
          // A cached source serves without a token; invalidate() makes every use a real request, so
          // the suite's token-refresh check exercises the provider through the SecretClient.
          source.invalidate();
          await source.get();
          // The value is not returned: the suite prints what use() returns.
        },
        ready: () => connector.ready({ secrets: [secretName] }),
        close: () => connector.close(),
        printable: () => [connector, source],
      };
    },
  },
});
