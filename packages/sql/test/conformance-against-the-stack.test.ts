import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createSqlConnector } from '../src/index.js';

/**
 * The against-the-stack group of the conformance suite for @keyless/sql: it starts the local
 * stack, so it lives apart from the server-less groups in conformance.test.ts, which
 * `pnpm test:fast` runs.
 */
describeConnectorConformanceSuite({
  name: '@keyless/sql',
  againstTheStack: {
    services: ['sql'],
    resource: 'https://database.windows.net',
    create: ({ stack, tokenProvider }) => {
      const connector = createSqlConnector({
        server: stack.env.KEYLESS_SQL_SERVER,
        port: Number(stack.env.KEYLESS_SQL_PORT),
        database: stack.env.KEYLESS_SQL_DATABASE,
        tokenProvider,
        // Short-lived connections, so that a use after the token refresh logs in again with the new token.
        pool: { max: 2, maxLifetimeMs: 1_000 },
      });
      return {
        // A real login (FedAuth with a token for https://database.windows.net/) and a query.
        use: () => connector.query<{ name: string }>('SELECT SUSER_SNAME() AS name'),
        ready: () => connector.ready(),
        close: () => connector.close(),
        printable: () => [connector, connector.poolStatus()],
      };
    },
  },
});
