import { existsSync } from 'node:fs';
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
import { clusterTls, connectToCluster, coveredSlots, onEveryNode } from './support/redis-cluster-clients.js';
import { testCertificateAuthority } from './support/test-state.js';

const redisResource = 'https://redis.azure.com';

describe('Redis Cluster', () => {
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

  it('comes up with 3 masters and 3 replicas covering all 16384 slots', async () => {
    const topology = await cluster.topology();
    const masters = topology.filter((node) => node.role === 'master');
    const replicas = topology.filter((node) => node.role === 'replica');
    expect(masters).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    // One replica per master.
    expect(new Set(replicas.map((replica) => replica.masterId))).toEqual(
      new Set(masters.map((master) => master.node.id)),
    );
    expect(coveredSlots(masters.flatMap((master) => master.slots))).toBe(16_384);
    expect(cluster.seedList.split(',')).toHaveLength(6);

    const client = connectToCluster(cluster, authority, 'app', 'app-password');
    try {
      const info = String(await client.cluster('INFO'));
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_slots_assigned:16384/);
    } finally {
      client.disconnect();
    }
  });

  it('lets the password user and the Entra user write and read keys on every shard', async () => {
    const { token } = await fetchToken(identity, redisResource, { clientId });
    for (const [user, password] of [
      ['app', 'app-password'],
      [objectId, token],
    ] as const) {
      const client = connectToCluster(cluster, authority, user, password);
      try {
        const keys = Array.from({ length: 300 }, (_, index) => `${user}:key-${index}`);
        await Promise.all(keys.map((key) => client.set(key, key)));
        expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
        // Spread by their hash slots over all three shards.
        const sizes = await Promise.all(client.nodes('master').map((master) => master.dbsize()));
        expect(sizes.every((size) => size > 0)).toBe(true);
      } finally {
        client.disconnect();
      }
    }
  });

  it('refuses a wrong password and a token for another resource with WRONGPASS on every node', async () => {
    expect(await onEveryNode(cluster, authority, 'app', 'not-the-password')).toEqual(
      Array(6).fill('WRONGPASS'),
    );
    const storage = await fetchToken(identity, 'https://storage.azure.com', { clientId });
    expect(await onEveryNode(cluster, authority, objectId, storage.token)).toEqual(
      Array(6).fill('WRONGPASS'),
    );
    expect(await onEveryNode(cluster, authority, 'default', '')).toEqual(Array(6).fill('WRONGPASS'));
  });

  it('rotates a password on every node', async () => {
    const rotated = await cluster.rotatePassword('app');
    expect(await onEveryNode(cluster, authority, 'app', rotated)).toEqual(Array(6).fill('OK'));
    expect(await onEveryNode(cluster, authority, 'app', 'app-password')).toEqual(Array(6).fill('WRONGPASS'));
    await cluster.rotatePassword('app', 'app-password');
  });

  it('accepts a token minted after the start on every node, a node added later included, which takes over slots with their keys', async () => {
    const before = await fetchToken(identity, redisResource, { clientId });
    const client = connectToCluster(cluster, authority, objectId, before.token);
    try {
      const keys = Array.from({ length: 200 }, (_, index) => `moving:${index}`);
      await Promise.all(keys.map((key) => client.set(key, key)));

      const added = await cluster.addNode({ slots: { from: 0, to: 999 } });
      expect(cluster.nodes).toHaveLength(7);
      const after = await fetchToken(identity, redisResource, { clientId });
      expect(await onEveryNode(cluster, authority, objectId, after.token)).toEqual(Array(7).fill('OK'));
      // Applied from the launcher's state when the node started.
      expect(await onEveryNode(cluster, authority, objectId, before.token)).toEqual(Array(7).fill('OK'));

      const topology = await cluster.topology();
      const addedState = topology.find((node) => node.node.id === added.id);
      expect(addedState?.role).toBe('master');
      expect(addedState?.slots).toEqual([[0, 999]]);
      // The keys of the moved slots moved with them; ioredis follows MOVED to the new node.
      expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
      const moved = (
        await Promise.all(
          keys.map(async (key) => (((await client.cluster('KEYSLOT', key)) as number) <= 999 ? key : '')),
        )
      ).filter((key) => key !== '');
      expect(moved.length).toBeGreaterThan(0);
      // Asked directly (no MOVED to follow): the new node holds them.
      const onAdded = client.nodes('master').find((node) => node.options.port === added.tlsPort);
      const held = await Promise.all(moved.map((key) => onAdded?.exists(key)));
      expect(held).toEqual(moved.map(() => 1));
    } finally {
      client.disconnect();
    }
  });

  it('stop() leaves no process, port or folder, and is idempotent', async () => {
    const servers = cluster.nodes.map((node) => ({ node, server: findListeningProcess(node.tlsPort) }));
    for (const { server } of servers) expect(server?.cwd).toMatch(/keyless-redis-cluster-[^/]+\/node-\d+$/);

    await Promise.all([cluster.stop(), cluster.stop()]);
    await cluster.stop();

    for (const { node, server } of servers) {
      expect(processIsGone(server?.pid ?? 0)).toBe(true);
      expect(await isPortFree(node.tlsPort)).toBe(true);
      expect(existsSync(server?.cwd ?? '/')).toBe(false);
    }
    await expect(cluster.rotatePassword('app')).rejects.toThrow(/stopped/);
  });
});
