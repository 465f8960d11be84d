import { describeConnectorConformance } from '@keyless/testing';
import { createKeyVaultConnector } from '../src/index.js';

describeConnectorConformance({
  name: '@keyless/keyvault',
  services: ['keyvault'],
  resource: 'https://vault.azure.net',
  create: ({ stack, tokenProvider }) => {
    const connector = createKeyVaultConnector({ vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider });
    const source = connector.secret('demo-message');
    return {
      use: async () => {
        // A cached source serves without a token; invalidate() makes every use a real request, so
        // the suite's token-refresh test exercises the provider through the SecretClient.
        source.invalidate();
        await source.get();
        // The value is not returned: the suite prints what use() returns.
      },
      close: () => connector.close(),
      printable: () => [connector, source],
    };
  },
});
