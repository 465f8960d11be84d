import { createTokenProvider, entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisClusterConnector,
  type RedisClusterConnector,
  type RedisConnectorEvent,
} from '../src/index.ts';
import { until } from './support.ts';

/** Concurrent SET writers over keys of every slot range; count what succeeded and what failed. */
function startClusterWriters(client: Cluster, prefix: string, writers = 4) {
  const state = { running: true, successes: 0, failures: [] as string[] };
  const loops = Array.from({ length: writers }, async (_, writer) => {
    let index = 0;
    while (state.running) {
      try {
        await client.set(`${prefix}:${writer}:${index % 200}`, String(index));
        state.successes += 1;
      } catch (error) {
        state.failures.push(error instanceof Error ? `${error.name}: ${error.message}` : 'non-error');
      }
      index += 1;
    }
  });
  return {
    state,
    async stop() {
      state.running = false;
      await Promise.all(loops);
      return state;
    },
  };
}

/** Drops one node connection as a network blip would (the server kills it at the connection's own request). */
async function dropNodeConnection(node: Redis): Promise<void> {
  const id = await node.client('ID');
  await node.call('CLIENT', 'KILL', 'ID', String(id), 'SKIPME', 'no').catch(() => {});
}

describe('createRedisClusterConnector() against a Redis Cluster (3 masters, 3 replicas, TLS)', () => {
  let stack: LocalAzure;
  let restoreEnvironment: () => void;
  let tokenProvider: TokenProvider;
  const connectors: RedisClusterConnector[] = [];

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['redis'],
      redis: { cluster: true },
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  }, 120_000);

  afterAll(async () => {
    for (const connector of connectors) await connector.close();
    await tokenProvider?.close();
    restoreEnvironment?.();
    await stack?.stop();
  });

  function secretConnector(): RedisClusterConnector {
    const connector = createRedisClusterConnector({
      nodes: stack.env.KEYLESS_REDIS_CLUSTER_NODES?.split(','),
      password: fromKeyVaultSecret({
        vaultUrl: stack.env.KEYLESS_KEYVAULT_URL,
        secretName: stack.env.KEYLESS_REDIS_PASSWORD_SECRET,
      }),
      user: stack.env.KEYLESS_REDIS_USER,
      tokenProvider,
    });
    connectors.push(connector);
    return connector;
  }

  it('secret mode: writes across all slots, and a rotated password reaches every node reconnect', async () => {
    const connector = secretConnector();
    await connector.connect();
    const { client } = connector;
    const keys = Array.from({ length: 300 }, (_, index) => `secret:key-${index}`);
    await Promise.all(keys.map((key) => client.set(key, key)));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
    const masters = client.nodes('master');
    expect(masters).toHaveLength(3);
    expect((await Promise.all(masters.map((master) => master.dbsize()))).every((size) => size > 0)).toBe(
      true,
    );

    const refreshed: RedisConnectorEvent[] = [];
    connector.on('password-refreshed', (event) => refreshed.push(event));
    const writers = startClusterWriters(client, 'secret:rotation');
    await until(() => writers.state.successes >= 200, 20_000, 'writes before the rotation');
    await stack.rotateRedisPassword();
    // Live connections stay authenticated (as in Redis): drop every node connection so that each
    // reconnects — with the old secret first (refused), then with the one fetched afresh.
    const connected = client.nodes('all').filter((node) => node.status === 'ready');
    expect(connected.length).toBeGreaterThanOrEqual(3);
    await Promise.all(connected.map((node) => dropNodeConnection(node)));
    const after = writers.state.successes;
    await until(() => writers.state.successes >= after + 300, 40_000, 'writes after the rotation');
    const result = await writers.stop();
    expect(result.failures).toEqual([]);
    expect(refreshed.length).toBeGreaterThanOrEqual(1);
    // Every master's connection is back, logged in with the new password.
    await until(
      () => client.nodes('master').every((node) => node.status === 'ready'),
      20_000,
      'every master connection to be ready',
    );
    expect(await Promise.all(client.nodes('master').map((node) => node.ping()))).toEqual([
      'PONG',
      'PONG',
      'PONG',
    ]);
  }, 90_000);

  // RESP3 (ioredis 6's default): the subscriber takes AUTH too. RESP2 (ioredis 5's): it cannot, and
  // is ended so that ioredis replaces it, logged in with the new token, and resubscribes.
  it.each([3, 2] as const)(
    'Entra mode (RESP%i): every live node connection and the subscriber are re-authenticated across three token generations, no command fails',
    async (protocol) => {
      stack.identity.setTokenLifetime(4);
      const shortLived = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
      try {
        const connector = createRedisClusterConnector({
          nodes: stack.env.KEYLESS_REDIS_CLUSTER_NODES?.split(','),
          password: entraToken(),
          user: stack.appIdentity.objectId,
          tokenProvider: shortLived,
          redisOptions: { protocol },
        });
        connectors.push(connector);
        await connector.connect();
        const { client } = connector;
        const reauthenticated: (RedisConnectorEvent & { ready: number })[] = [];
        connector.on('reauthenticated', (event) =>
          reauthenticated.push({
            ...event,
            ready: client.nodes('all').filter((node) => node.status === 'ready').length,
          }),
        );
        const failed: RedisConnectorEvent[] = [];
        connector.on('reauthentication-failed', (event) => failed.push(event));

        // AUTH commands each node connection sends after its handshake, counted on the connection.
        const authsByNode = new Map<Redis, number>();
        for (const node of client.nodes('all')) {
          authsByNode.set(node, 0);
          const send = node.sendCommand.bind(node);
          node.sendCommand = (command, stream) => {
            if (command.name.toLowerCase() === 'auth')
              authsByNode.set(node, (authsByNode.get(node) ?? 0) + 1);
            return send(command, stream);
          };
        }
        const minted = new Set<string>();
        stack.identity.onTokenIssued((event) => {
          if (event.resource.startsWith('https://redis.azure.com')) minted.add(event.token);
        });

        const received: string[] = [];
        client.on('message', (_channel: string, message: string) => received.push(message));
        await client.subscribe('cluster:news');

        const writers = startClusterWriters(client, 'entra:counter');
        let published = 0;
        let running = true;
        const publisher = (async () => {
          while (running) {
            await client.publish('cluster:news', String(published));
            published += 1;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        await until(() => reauthenticated.length >= 3, 40_000, 'three re-authentications');
        running = false;
        await publisher;
        const result = await writers.stop();

        expect(result.failures).toEqual([]);
        expect(failed).toEqual([]);
        expect(minted.size).toBeGreaterThanOrEqual(3);
        for (const event of reauthenticated.slice(0, 3)) {
          // Every live connection — the three masters' and the subscriber's — took the new token:
          // with AUTH on the live connection, or (a subscriber over RESP2 only) by being replaced.
          expect(event.ready).toBeGreaterThanOrEqual(3);
          expect((event.connections ?? 0) + (event.reconnected ?? 0)).toBe(event.ready + 1);
          expect(event.connections).toBe(protocol === 3 ? event.ready + 1 : event.ready);
        }
        // Each master connection sent AUTH once per new token, on the same live connection.
        const masters = client.nodes('master');
        expect(masters).toHaveLength(3);
        for (const master of masters) {
          expect(authsByNode.get(master)).toBeGreaterThanOrEqual(3);
          expect(master.status).toBe('ready');
        }
        // The subscriber (replaced, over RESP2) still receives what is published now.
        const last = published;
        let next = last;
        await until(
          () => {
            void client.publish('cluster:news', String(next++));
            return received.some((message) => Number(message) >= last);
          },
          20_000,
          'a message published after the re-authentications',
        );
        // Nothing prints a token: the connector, the cluster, its node connections.
        const { inspect } = await import('node:util');
        const printed = [connector, client, ...client.nodes('all')]
          .flatMap((value) => [inspect(value, { depth: 6, showHidden: true }), JSON.stringify(value)])
          .join('\n');
        expect(printed).toContain(stack.appIdentity.objectId);
        expect([...minted].some((token) => printed.includes(token))).toBe(false);
        await connector.close();
        await until(() => client.status === 'end', 10_000, 'the cluster to end');
        expect(new Set(received).size).toBeGreaterThan(0);
      } finally {
        stack.identity.setTokenLifetime(86_400);
        await shortLived.close();
      }
    },
    90_000,
  );

  // ioredis 6's sharded subscribers (one connection per master, SSUBSCRIBE): adopted at their first
  // connect and re-authenticated with the nodes (RESP3), or ended and replaced (RESP2).
  it.each([3, 2] as const)(
    'Entra mode (RESP%i) with shardedSubscribers: every sharded subscriber takes each new token and keeps receiving',
    async (protocol) => {
      stack.identity.setTokenLifetime(4);
      const shortLived = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
      try {
        const connector = createRedisClusterConnector({
          nodes: stack.env.KEYLESS_REDIS_CLUSTER_NODES?.split(','),
          password: entraToken(),
          user: stack.appIdentity.objectId,
          tokenProvider: shortLived,
          redisOptions: { protocol },
          clusterOptions: { shardedSubscribers: true },
        });
        connectors.push(connector);
        await connector.connect();
        const { client } = connector;
        const received: string[] = [];
        client.on('smessage', (_channel: string, message: string) => received.push(message));
        // Channels in two different slots: two sharded subscriber connections.
        const channels = ['{a}sharded', '{b}sharded'];
        for (const channel of channels) await client.ssubscribe(channel);
        const group = (
          client as unknown as {
            shardedSubscribers: { shardedSubscribers: Map<string, { getInstance(): Redis | null }> };
          }
        ).shardedSubscribers.shardedSubscribers;
        const subscribersOf = () =>
          [...group.values()]
            .map((subscriber) => subscriber.getInstance())
            .filter((instance) => instance?.status === 'ready') as Redis[];
        await until(() => subscribersOf().length >= 2, 20_000, 'two sharded subscriber connections');
        const first = subscribersOf();
        const auths = new Map<Redis, number>();
        for (const subscriber of first) {
          auths.set(subscriber, 0);
          const send = subscriber.sendCommand.bind(subscriber);
          subscriber.sendCommand = (command, stream) => {
            if (command.name.toLowerCase() === 'auth')
              auths.set(subscriber, (auths.get(subscriber) ?? 0) + 1);
            return send(command, stream);
          };
        }
        const reauthenticated: RedisConnectorEvent[] = [];
        connector.on('reauthenticated', (event) => reauthenticated.push(event));
        const failed: RedisConnectorEvent[] = [];
        connector.on('reauthentication-failed', (event) => failed.push(event));
        let published = 0;
        let running = true;
        const publisher = (async () => {
          while (running) {
            for (const channel of channels) await client.spublish(channel, `${channel}:${published}`);
            published += 1;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        await until(() => reauthenticated.length >= 3, 40_000, 'three re-authentications').finally(
          async () => {
            running = false;
            await publisher;
          },
        );
        expect(failed).toEqual([]);
        if (protocol === 3) {
          // The same two connections, each with an AUTH per new token.
          for (const subscriber of first) {
            expect(auths.get(subscriber)).toBeGreaterThanOrEqual(3);
            expect(subscriber.status).toBe('ready');
          }
        } else {
          // Over RESP2 Redis refuses AUTH in subscriber mode: each was ended, and its successor
          // logged in with a newer token.
          expect(reauthenticated.slice(0, 3).every((event) => (event.reconnected ?? 0) >= 1)).toBe(true);
        }
        // Both channels still deliver what is published now.
        const from = published;
        let next = from;
        await until(
          () => {
            for (const channel of channels)
              void client.spublish(channel, `${channel}:${next}`).catch(() => {});
            next += 1;
            return channels.every((channel) =>
              received.some(
                (message) => message.startsWith(`${channel}:`) && Number(message.split(':')[1]) >= from,
              ),
            );
          },
          20_000,
          'messages on both channels after the re-authentications',
        );
        await connector.close();
      } finally {
        stack.identity.setTokenLifetime(86_400);
        await shortLived.close();
      }
    },
    90_000,
  );

  it('a master failover fails no command', async () => {
    const connector = secretConnector();
    await connector.connect();
    const { client } = connector;
    const cluster = stack.redisCluster;
    if (!cluster) throw new Error('the stack has no Redis Cluster');
    const master = (await cluster.topology()).find((node) => node.role === 'master');
    if (!master) throw new Error('no master');
    const writers = startClusterWriters(client, 'failover');
    await until(() => writers.state.successes >= 200, 20_000, 'writes before the failover');
    await cluster.failover(master.node);
    const after = writers.state.successes;
    await until(() => writers.state.successes >= after + 300, 40_000, 'writes after the failover');
    const result = await writers.stop();
    expect(result.failures).toEqual([]);
  }, 90_000);

  it('a master restart under load: commands fail only where ioredis gives up, and writes resume', async () => {
    const connector = secretConnector();
    await connector.connect();
    const { client } = connector;
    client.on('error', () => {});
    const cluster = stack.redisCluster;
    if (!cluster) throw new Error('the stack has no Redis Cluster');
    const master = (await cluster.topology()).find((node) => node.role === 'master');
    if (!master) throw new Error('no master');
    const writers = startClusterWriters(client, 'restart');
    await until(() => writers.state.successes >= 200, 20_000, 'writes before the restart');
    await cluster.restartNode(master.node);
    const after = writers.state.successes;
    await until(() => writers.state.successes >= after + 300, 60_000, 'writes after the restart');
    const result = await writers.stop();
    // Only what ioredis itself gave up on while the shard was down (a restarted master comes back
    // empty and rejoins); no command failed for want of credentials.
    for (const failure of result.failures) {
      expect(failure).toMatch(/^(ServiceUnavailableError: |Error: Too many Cluster redirections)/);
    }
    console.log(`restart: ${result.successes} writes, ${result.failures.length} given up by ioredis`);
    await until(
      () => client.nodes('master').every((node) => node.status === 'ready'),
      30_000,
      'every master connection to be ready',
    );
  }, 90_000);

  it('natMap: announced addresses are mapped, and each mapped node is reached over TLS verified against its name', async () => {
    const connector = createRedisClusterConnector({
      nodes: stack.env.KEYLESS_REDIS_CLUSTER_NODES?.split(','),
      // The nodes announce 127.0.0.1; the certificate also names localhost.
      natMap: (key: string) => ({ host: 'localhost', port: Number(key.split(':')[1]) }),
      password: fromKeyVaultSecret({
        vaultUrl: stack.env.KEYLESS_KEYVAULT_URL,
        secretName: stack.env.KEYLESS_REDIS_PASSWORD_SECRET,
      }),
      user: stack.env.KEYLESS_REDIS_USER,
      tokenProvider,
    });
    connectors.push(connector);
    await connector.connect();
    const keys = Array.from({ length: 100 }, (_, index) => `natmap:${index}`);
    await Promise.all(keys.map((key) => connector.client.set(key, key)));
    expect(await Promise.all(keys.map((key) => connector.client.get(key)))).toEqual(keys);
    expect(connector.client.nodes('master').map((node) => node.options.host)).toEqual([
      'localhost',
      'localhost',
      'localhost',
    ]);
  }, 60_000);

  it('lifts the handshake bound once a node is ready: no socket timeout is left on a live node connection', async () => {
    const connector = secretConnector();
    await connector.connect();
    const keys = Array.from({ length: 60 }, (_, index) => `bound:${index}`);
    await Promise.all(keys.map((key) => connector.client.set(key, key)));
    const live = connector.client.nodes('all').filter((node) => node.status === 'ready');
    expect(live.length).toBeGreaterThanOrEqual(3);
    // Left armed (connectTimeout, 10 s by default), Node would re-arm it at every read and write.
    expect(
      live.map((node) => (node as unknown as { stream?: { timeout?: number } }).stream?.timeout ?? 0),
    ).toEqual(live.map(() => 0));
  }, 60_000);

  it('refuses plaintext to a seed that is not on this machine, and a tls.servername, with ConfigurationError', () => {
    const common = { password: entraToken(), user: stack.appIdentity.objectId, tokenProvider };
    expect(() => createRedisClusterConnector({ ...common, nodes: ['192.0.2.10:6379'], tls: false })).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(/192\.0\.2\.10/),
      }),
    );
    expect(() =>
      createRedisClusterConnector({
        ...common,
        nodes: ['127.0.0.1:10000'],
        tls: { servername: 'elsewhere.example' } as { ca?: string },
      }),
    ).toThrow(expect.objectContaining({ name: 'ConfigurationError' }));
  });

  it('a refused login on the nodes is AuthenticationFailedError', async () => {
    const systemIdentity = stack.identity.systemAssigned;
    if (!systemIdentity) throw new Error('the stack has no system-assigned identity');
    const systemProvider = createTokenProvider({ identity: 'system-assigned' });
    try {
      const connector = createRedisClusterConnector({
        nodes: stack.env.KEYLESS_REDIS_CLUSTER_NODES?.split(','),
        password: entraToken(),
        user: systemIdentity.objectId,
        tokenProvider: systemProvider,
        clusterOptions: { clusterRetryStrategy: () => null },
      });
      connectors.push(connector);
      const failure = await connector.connect().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: 'AuthenticationFailedError', code: 'authentication-failed' });
    } finally {
      await systemProvider.close();
    }
  }, 60_000);

  // Last: it changes the topology (a fourth master) for whatever would run after it.
  it('a node added later gets the credentials: keys moved to it are written and read through it', async () => {
    const connector = secretConnector();
    await connector.connect();
    const { client } = connector;
    const cluster = stack.redisCluster;
    if (!cluster) throw new Error('the stack has no Redis Cluster');
    const writers = startClusterWriters(client, 'added');
    await until(() => writers.state.successes >= 200, 20_000, 'writes before the node is added');
    const added = await cluster.addNode({ slots: { from: 0, to: 1999 } });
    // Keys of the moved slots: ioredis follows MOVED to the new node and opens a connection to it.
    const keys = Array.from({ length: 200 }, (_, index) => `added:key-${index}`);
    await Promise.all(keys.map((key) => client.set(key, key)));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
    const after = writers.state.successes;
    await until(() => writers.state.successes >= after + 200, 40_000, 'writes after the node is added');
    const result = await writers.stop();
    expect(result.failures).toEqual([]);
    const onAdded = client.nodes('all').find((node) => node.options.port === added.tlsPort);
    expect(onAdded?.status).toBe('ready');
    expect(await onAdded?.dbsize()).toBeGreaterThan(0);
  }, 90_000);
});
