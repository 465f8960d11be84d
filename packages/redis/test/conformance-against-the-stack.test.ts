import { entraToken } from '@keyless/core';
import { describeConnectorConformanceSuite } from '@keyless/testing';
import { createRedisConnector } from '../src/index.ts';

/**
 * The against-the-stack group of the conformance suite for @keyless/redis: it starts the local
 * stack, so it lives apart from the server-less groups in conformance.test.ts, which
 * `pnpm test:fast` runs.
 */
describeConnectorConformanceSuite({
  name: '@keyless/redis',
  againstTheStack: {
    services: ['redis'],
    resource: 'https://redis.azure.com',
    create({ stack, tokenProvider }) {
      const connector = createRedisConnector({
        host: stack.env.KEYLESS_REDIS_HOST,
        port: Number(stack.env.KEYLESS_REDIS_TLS_PORT),
        tls: true,
        password: entraToken(),
        user: stack.appIdentity.objectId,
        tokenProvider,
      });
      let last: unknown;
      return {
        async use() {
          const { client } = connector;
          const value = await client.incr('conformance:uses');
          last = await client.get('conformance:uses');
          return { value, last };
        },
        ready: () => connector.ready(),
        close: () => connector.close(),
        printable: () => [connector, connector.client, last],
      };
    },
  },
});
