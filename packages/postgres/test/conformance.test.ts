import { entraToken } from '@keyless/core';
import { describeConnectorConformance } from '@keyless/testing';
import { createPostgresConnector } from '../src/index.js';

describeConnectorConformance({
  name: '@keyless/postgres',
  services: ['postgres'],
  resource: 'https://ossrdbms-aad.database.windows.net',
  create: ({ stack, tokenProvider }) => {
    const connector = createPostgresConnector({
      host: stack.env.KEYLESS_POSTGRES_HOST,
      port: Number(stack.env.KEYLESS_POSTGRES_PORT),
      database: stack.env.KEYLESS_POSTGRES_DATABASE,
      user: stack.env.KEYLESS_POSTGRES_ENTRA_USER,
      password: entraToken(),
      tokenProvider,
    });
    return {
      // A new session every time (the client is destroyed, not pooled), so each use logs in with
      // the provider's current token: an expired one would be refused.
      use: async () => {
        const client = await connector.pool.connect();
        try {
          return (await client.query<{ user: string }>('SELECT current_user AS user')).rows[0]?.user;
        } finally {
          client.release(true);
        }
      },
      close: () => connector.close(),
      printable: () => [connector, connector.pool],
    };
  },
});
