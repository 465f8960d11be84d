import { existsSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdentityEndpoint,
  type LocalCertificateAuthority,
  type RedisClusterInstance,
  startIdentityEndpoint,
  startRedisCluster,
} from '../src/index.js';
import { isPortFree } from '../src/processes/free-port.js';
import { fetchToken } from './support/identity-tokens.js';
import { findListeningProcess, processIsGone } from './support/listening-process.js';
import { testCertificateAuthority } from './support/test-state.js';

describe('Redis Cluster', () => {
  let authority: LocalCertificateAuthority;
  let identity: IdentityEndpoint;
  let cluster: RedisClusterInstance;

  beforeAll(async () => {
    authority = await testCertificateAuthority();
    identity = await startIdentityEndpoint();
    const app = identity.userAssigned[0];
    if (!app) throw new Error('no user-assigned identity');
    cluster = await startRedisCluster({
      tls: {
        certPath: authority.serverCertificatePath,
        keyPath: authority.serverKeyPath,
        caPath: authority.caCertificatePath,
      },
      identity,
      users: [{ name: 'app', password: 'app-password' }],
      entraUsers: [{ objectId: app.objectId }],
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await identity?.stop();
  });

  it('comes up', async () => {
    const topology = await cluster.topology();
    console.log(
      topology.map((each) => `${each.node.tlsPort} ${each.role} ${JSON.stringify(each.slots)}`).join('\n'),
    );
    const client = new Cluster(
      cluster.seedList.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })),
      {
        redisOptions: { tls: { ca: authority.caCertificate }, username: 'app', password: 'app-password' },
      },
    );
    for (let index = 0; index < 50; index++) await client.set(`key-${index}`, String(index));
    expect(await client.get('key-7')).toBe('7');
    client.disconnect();
  });
});
