import { ConfigurationError, entraToken } from '@keyless/core';
import { describe, expect, it } from 'vitest';
import { createRedisClusterConnector } from '../src/index.ts';
import {
  resolveClusterTls,
  resolvePassedClusterOptions,
  resolveSeedNodes,
} from '../src/redis-cluster-options.ts';

const user = '00000000-0000-0000-0000-00000000000a';

describe('Redis Cluster settings', () => {
  it('takes the seed list from `nodes` first, then KEYLESS_REDIS_CLUSTER_NODES', () => {
    expect(
      resolveSeedNodes(['cache.westeurope.redis.azure.net:10000', { host: '::1', port: 7000 }], {}),
    ).toEqual([
      { host: 'cache.westeurope.redis.azure.net', port: 10_000 },
      { host: '::1', port: 7000 },
    ]);
    expect(resolveSeedNodes(undefined, { KEYLESS_REDIS_CLUSTER_NODES: '127.0.0.1:7000,[::1]:7001' })).toEqual(
      [
        { host: '127.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
    );
  });

  it('names what is wrong: no seeds, a seed without a port, a URL', () => {
    expect(() => resolveSeedNodes(undefined, {})).toThrow(/No Redis Cluster nodes configured/);
    expect(() => resolveSeedNodes(['cache.redis.azure.net'], {})).toThrow(
      /Invalid Redis Cluster node in the option `nodes`/,
    );
    expect(() => resolveSeedNodes(undefined, { KEYLESS_REDIS_CLUSTER_NODES: 'rediss://h:10000' })).toThrow(
      /KEYLESS_REDIS_CLUSTER_NODES/,
    );
    expect(() => resolveSeedNodes([{ host: 'h', port: 70_000 }], {})).toThrow(ConfigurationError);
  });

  it('TLS: on by default, `{ ca }` only; nothing that weakens or redirects verification', () => {
    expect(resolveClusterTls(undefined)).toEqual({});
    expect(resolveClusterTls(false)).toBe(false);
    expect(resolveClusterTls({ ca: 'PEM' })).toEqual({ ca: 'PEM' });
    for (const weakened of [
      { rejectUnauthorized: false },
      { servername: 'other.example' },
      { checkServerIdentity: () => undefined },
    ]) {
      expect(() => resolveClusterTls(weakened)).toThrow(ConfigurationError);
    }
    expect(() => resolveClusterTls({ host: 'elsewhere' })).toThrow(/tls\.host/);
  });

  it('refuses redisOptions and natMap inside clusterOptions, and the options keyless owns in redisOptions', () => {
    expect(resolvePassedClusterOptions({ scaleReads: 'slave' })).toEqual({ scaleReads: 'slave' });
    expect(() => resolvePassedClusterOptions({ redisOptions: {} })).toThrow(/clusterOptions\.redisOptions/);
    expect(() => resolvePassedClusterOptions({ natMap: {} })).toThrow(/top-level option `natMap`/);
    for (const redisOptions of [{ password: 'x' }, { tls: {} }, { Connector: class {} }, { host: 'h' }]) {
      expect(() =>
        createRedisClusterConnector({
          nodes: ['127.0.0.1:7000'],
          password: entraToken(),
          user,
          redisOptions: redisOptions as never,
        }),
      ).toThrow(ConfigurationError);
    }
  });

  it('is lazy: the factory does no I/O and prints no credential', async () => {
    const connector = createRedisClusterConnector({
      nodes: ['127.0.0.1:7000'],
      password: entraToken(),
      user,
      tokenProvider: { getToken: () => Promise.reject(new Error('not called')) } as never,
    });
    const { inspect } = await import('node:util');
    expect(inspect(connector)).toContain('127.0.0.1:7000');
    expect(connector.mode).toBe('entra-token');
    await connector.close();
    await connector.close();
    expect(() => connector.client).toThrow(expect.objectContaining({ name: 'ClosedError' }));
  });
});
