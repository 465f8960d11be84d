import { entraToken } from '@keyless/core';
import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createPostgresConnector } from '../src/index.js';

/**
 * The against-the-stack group of the conformance suite for @keyless/postgres: it starts the local
 * stack, so it lives apart from the server-less groups in conformance.test.ts, which
 * `pnpm test:fast` runs.
 */
describeConnectorConformanceSuite({
  name: '@keyless/postgres',
  againstTheStack: {
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
        ready: () => connector.ready(),
        close: () => connector.close(),
        printable: () => [connector, connector.pool],
      };
    },
  },
});
