import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdentityEndpoint,
  type LocalCertificateAuthority,
  type RedisClusterInstance,
  startIdentityEndpoint,
  startRedisCluster,
} from '../src/index.js';
import { fetchToken, waitUntilExpired } from './support/identity-tokens.js';
import { clusterTls, connectToCluster, onEveryNode, tryAuthOnNode } from './support/redis-cluster-clients.js';
import { testCertificateAuthority } from './support/test-state.js';

const redisResource = 'https://redis.azure.com';

describe('Redis Cluster failover and restarts', () => {
  let authority: LocalCertificateAuthority;
  let identity: IdentityEndpoint;
  let cluster: RedisClusterInstance;
  let objectId: string;
  let clientId: string;

  beforeAll(async () => {
    authority = await testCertificateAuthority();
    identity = await startIdentityEndpoint();
    const app = identity.userAssigned[0];
    if (!app) throw new Error('the endpoint has no user-assigned identity');
    objectId = app.objectId;
    clientId = app.clientId;
    cluster = await startRedisCluster({
      tls: clusterTls(authority),
      identity,
      users: [{ name: 'app', password: 'app-password' }],
      entraUsers: [{ objectId }],
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await identity?.stop();
  });

  it('failover() promotes a replica while the cluster keeps serving, with the data replicated', async () => {
    const client = connectToCluster(cluster, authority, 'app', 'app-password');
    try {
      const before = Array.from({ length: 200 }, (_, index) => `before-failover:${index}`);
      await Promise.all(before.map((key) => client.set(key, key)));
      const master = (await cluster.topology()).find((node) => node.role === 'master');
      if (!master) throw new Error('no master');

      // Writes keep going during the failover; ioredis follows the MOVED the demoted master answers.
      let writing = true;
      const during: string[] = [];
      const writer = (async () => {
        for (let index = 0; writing; index++) {
          const key = `during-failover:${index}`;
          await client.set(key, key);
          during.push(key);
        }
      })();
      const promoted = await cluster.failover(master.node);
      writing = false;
      await writer;

      const topology = await cluster.topology();
      expect(topology.find((node) => node.node.id === promoted.id)?.role).toBe('master');
      const demoted = topology.find((node) => node.node.id === master.node.id);
      expect(demoted?.role).toBe('replica');
      expect(demoted?.masterId).toBe(promoted.id);
      expect(during.length).toBeGreaterThan(0);
      expect(await Promise.all([...before, ...during].map((key) => client.get(key)))).toEqual([
        ...before,
        ...during,
      ]);
    } finally {
      client.disconnect();
    }
  });

  it('failover() given a replica promotes that replica', async () => {
    const replica = (await cluster.topology()).find((node) => node.role === 'replica');
    if (!replica) throw new Error('no replica');
    const promoted = await cluster.failover(replica.node);
    expect(promoted.id).toBe(replica.node.id);
    expect((await cluster.topology()).find((node) => node.node.id === replica.node.id)?.role).toBe('master');
  });

  it('restartNode() brings a node back on its port with the users, rotated passwords and valid tokens of now', async () => {
    identity.setTokenLifetime(2);
    const shortLived = await fetchToken(identity, redisResource, { clientId });
    identity.setTokenLifetime(86_400);
    const longLived = await fetchToken(identity, redisResource, { clientId });
    const rotated = await cluster.rotatePassword('app');
    const replica = (await cluster.topology()).find((node) => node.role === 'replica');
    if (!replica) throw new Error('no replica');
    const port = replica.node.tlsPort;

    await waitUntilExpired(shortLived);
    await cluster.restartNode(replica.node);

    expect(replica.node.tlsPort).toBe(port);
    expect(await tryAuthOnNode(replica.node, authority, objectId, longLived.token)).toBe('OK');
    expect(await tryAuthOnNode(replica.node, authority, objectId, shortLived.token)).toBe('WRONGPASS');
    expect(await tryAuthOnNode(replica.node, authority, 'app', rotated)).toBe('OK');
    expect(await tryAuthOnNode(replica.node, authority, 'app', 'app-password')).toBe('WRONGPASS');
    // A token minted after the restart reaches it like every other node.
    const fresh = await fetchToken(identity, redisResource, { clientId });
    expect(await onEveryNode(cluster, authority, objectId, fresh.token)).toEqual(Array(6).fill('OK'));
    await cluster.rotatePassword('app', 'app-password');
  });

  it('keeps serving through a replica restart and a master restart (ioredis Cluster reconnects by itself)', async () => {
    const { token } = await fetchToken(identity, redisResource, { clientId });
    const client = connectToCluster(cluster, authority, objectId, token);
    try {
      const keys = Array.from({ length: 100 }, (_, index) => `restarts:${index}`);
      await Promise.all(keys.map((key) => client.set(key, key)));
      const topology = await cluster.topology();
      const replica = topology.find((node) => node.role === 'replica');
      const master = topology.find((node) => node.role === 'master');
      if (!replica || !master) throw new Error('no replica or no master');

      await cluster.restartNode(replica.node);
      // A replica resynchronises from its master: nothing lost.
      expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);

      await cluster.restartNode(master.node);
      // Nothing is persisted: the restarted master comes back empty (or, had it taken longer than
      // cluster-node-timeout, its replica took over); either way every slot serves again.
      const after = Array.from({ length: 100 }, (_, index) => `after-restarts:${index}`);
      await Promise.all(after.map((key) => client.set(key, key)));
      expect(await Promise.all(after.map((key) => client.get(key)))).toEqual(after);
    } finally {
      client.disconnect();
    }
  });

  it('refuses what is not a node of this cluster, and a failover of a master without a replica', async () => {
    await expect(cluster.failover({ id: 'not-a-node', host: '127.0.0.1', tlsPort: 1 })).rejects.toThrow(
      /not a node of this Redis Cluster/,
    );
    const added = await cluster.addNode();
    expect((await cluster.topology()).find((node) => node.node.id === added.id)?.slots).toEqual([]);
    await expect(cluster.failover(added)).rejects.toThrow(/without a replica/);
    await expect(cluster.addNode({ slots: { from: 10, to: 16_384 } })).rejects.toThrow(
      /0 ≤ from ≤ to ≤ 16383/,
    );
  });
});
