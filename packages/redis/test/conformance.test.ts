import { entraToken } from '@keyless/core';
import { describeConnectorConformance } from '@keyless/testing';
import { createRedisConnector } from '../src/index.ts';

describeConnectorConformance({
  name: '@keyless/redis',
  services: ['redis'],
  resource: 'https://redis.azure.com',
  create({ stack, tokenProvider }) {
    // The suite counts token requests from before the first use: the factory fetches nothing.
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
      close: () => connector.close(),
      printable: () => [connector, connector.client, last],
    };
  },
});
