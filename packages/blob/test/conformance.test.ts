import { describeConnectorConformance } from '@keyless/testing';
import { createBlobConnector } from '../src/index.js';

describeConnectorConformance({
  name: '@keyless/blob',
  services: ['blob'],
  resource: 'https://storage.azure.com',
  create: ({ stack, tokenProvider }) => {
    const connector = createBlobConnector({ accountUrl: stack.env.KEYLESS_BLOB_ACCOUNT_URL, tokenProvider });
    return {
      // The seeded blob: a real read that needs a valid token for the storage audience.
      use: () =>
        connector.run(async (client) => {
          const blob = client.getContainerClient('keyless-demo').getBlobClient('hello.txt');
          return (await blob.downloadToBuffer()).toString('utf8');
        }),
      close: () => connector.close(),
      printable: () => [connector, connector.client],
    };
  },
});
