import { ClosedError } from '@keyless/core';
import { describeConnectorConformance } from '@keyless/testing';
import { createRedisConnector, entraToken, type RedisConnector } from '../src/index.ts';

describeConnectorConformance({
  name: '@keyless/redis',
  services: ['redis'],
  resource: 'https://redis.azure.com',
  create({ stack, tokenProvider }) {
    // The suite counts token requests from before the first use; createRedisConnector fetches the
    // first token before connecting, so the connector is made by the first use, as an application
    // would make it on its first request.
    let connector: Promise<RedisConnector> | undefined;
    let closed = false;
    let created: RedisConnector | undefined;
    let last: unknown;
    const connect = () => {
      if (closed && connector === undefined) throw new ClosedError('RedisConnector');
      connector ??= createRedisConnector({
        host: stack.env.KEYLESS_REDIS_HOST,
        port: Number(stack.env.KEYLESS_REDIS_TLS_PORT),
        tls: true,
        auth: entraToken({ objectId: stack.appIdentity.objectId }),
        tokenProvider,
      });
      return connector;
    };
    return {
      async use() {
        created = await connect();
        const { client } = created;
        const value = await client.incr('conformance:uses');
        last = await client.get('conformance:uses');
        return { value, last };
      },
      async close() {
        closed = true;
        await (await connector)?.close();
      },
      printable: () => [created, created?.client, last],
    };
  },
});
