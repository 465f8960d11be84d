import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createBlobConnector } from '../src/index.js';

/**
 * The against-the-stack group of the conformance suite for @keyless/blob: it starts the local
 * stack, so it lives apart from the server-less groups in conformance.test.ts, which
 * `pnpm test:fast` runs.
 */
describeConnectorConformanceSuite({
  name: '@keyless/blob',
  againstTheStack: {
    services: ['blob'],
    resource: 'https://storage.azure.com',
    create: ({ stack, tokenProvider }) => {
      const connector = createBlobConnector({
        accountUrl: stack.env.KEYLESS_BLOB_ACCOUNT_URL,
        tokenProvider,
      });
      return {
        // The seeded blob: a real read that needs a valid token for the storage audience.
        use: () =>
          connector.run(async (client) => {
            const blob = client.getContainerClient('keyless-demo').getBlobClient('hello.txt');
            return (await blob.downloadToBuffer()).toString('utf8');
          }),
        ready: () => connector.ready(),
        close: () => connector.close(),
        printable: () => [connector, connector.client],
      };
    },
  },
});
