// A cluster whose nodes announce internal addresses (as Azure's do) with `tls: false`: the seed is on
// this machine, so plaintext to it is allowed, but the nodes it announces — or the addresses a
// natMap / nodeAddressMap maps them to — are not: both cluster connectors refuse them with a
// ConfigurationError before any socket opens there. A real redis-server in cluster mode on loopback,
// without TLS (the local stack's cluster is TLS-only), announcing a TEST-NET address; every
// connection attempt the process makes is recorded, and none may leave loopback.
import { type ChildProcess, spawn } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entraToken, type TokenProvider } from '@keyless/core';
import { isLoopbackHost } from '@keyless/core/internal';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNodeRedisClusterConnector, createRedisClusterConnector } from '../src/index.ts';

/** What the node announces in CLUSTER SLOTS and MOVED (an internal address, as Azure's nodes do): TEST-NET-1 (RFC 5737), never reachable. */
const announcedHost = '192.0.2.20';
/** Where the maps below send it instead: TEST-NET-2, also never reachable. */
const mappedHost = '198.51.100.10';

/** Every TCP connection attempt of this process (net and tls alike): address and port. */
const attempts: { ip: string; port: number }[] = [];
const recordAttempts = ({ socket }: { socket: Socket }) => {
  socket.on('connectionAttempt', (ip: string, port: number) => attempts.push({ ip, port }));
};

/**
 * The server's `default` user has no password (`nopass`): it takes any token. The transport rule is
 * what is tested here, not the login, so the token is a fixed string from a provider of the
 * TokenProvider contract; it never leaves loopback.
 */
const tokenProvider = {
  getToken: async () => ({
    token: 'fixed-token-for-a-loopback-server',
    expiresOnTimestamp: Date.now() + 3_600_000,
    refreshAfterTimestamp: Date.now() + 3_000_000,
    tokenType: 'Bearer',
  }),
} as unknown as TokenProvider;

async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('cluster nodes announcing non-loopback addresses, without TLS', () => {
  let folder: string;
  let server: ChildProcess;
  let port: number;
  let seed: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'keyless-redis-announced-'));
    port = await freePort();
    seed = `127.0.0.1:${port}`;
    server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        folder,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(folder, 'nodes.conf'),
        '--cluster-announce-ip',
        announcedHost,
      ],
      { stdio: 'ignore' },
    );
    // The test's own admin connection (plaintext, loopback): every slot to the one master.
    const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 100 });
    // Refused until redis-server listens: ioredis retries; the error is expected.
    admin.on('error', () => {});
    try {
      await eventually(
        async () => (await admin.ping().catch(() => undefined)) === 'PONG',
        'redis-server to answer',
      );
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await eventually(
        async () => String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
        'the one-node cluster to be ok',
      );
      const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      // The premise: the node announces the internal address, not the one the seed was reached at.
      expect(slots[0]?.[2]?.[0]).toBe(announcedHost);
    } finally {
      admin.disconnect();
    }
    diagnostics.subscribe('net.client.socket', recordAttempts as (message: unknown) => void);
  }, 60_000);

  afterAll(() => {
    diagnostics.unsubscribe('net.client.socket', recordAttempts as (message: unknown) => void);
    server?.kill();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  beforeEach(() => {
    attempts.length = 0;
  });

  /** The seed was reached (the recording works), and nothing else was tried. */
  function expectOnlyLoopbackAttempts(): void {
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.filter((attempt) => !isLoopbackHost(attempt.ip))).toEqual([]);
  }

  const refusal = (host: string) =>
    expect.objectContaining({
      name: 'ConfigurationError',
      message: expect.stringContaining(`Redis at ${host} would receive a credential without TLS`),
    });

  /** What the three tests need of either cluster connector. */
  interface ClusterConnector {
    connect(): Promise<unknown>;
    close(): Promise<unknown>;
    client: { set(key: string, value: string): Promise<unknown>; get(key: string): Promise<unknown> };
  }
  type AddressMap = Record<string, { host: string; port: number }>;

  const clusterClients: {
    library: string;
    /** The option that maps an announced address to another: ioredis's natMap, node-redis's nodeAddressMap. */
    mapOption: string;
    connectorWith(map?: AddressMap): ClusterConnector;
  }[] = [
    {
      library: 'ioredis Cluster (createRedisClusterConnector)',
      mapOption: 'natMap',
      connectorWith: (natMap) =>
        createRedisClusterConnector({
          nodes: [seed],
          tls: false,
          password: entraToken(),
          user: 'default',
          tokenProvider,
          ...(natMap === undefined ? {} : { natMap }),
          clusterOptions: { clusterRetryStrategy: () => null },
        }),
    },
    {
      library: 'node-redis cluster (createNodeRedisClusterConnector)',
      mapOption: 'nodeAddressMap',
      connectorWith: (nodeAddressMap) =>
        createNodeRedisClusterConnector({
          nodes: [seed],
          tls: false,
          password: entraToken(),
          user: 'default',
          tokenProvider,
          ...(nodeAddressMap === undefined ? {} : { nodeAddressMap }),
        }),
    },
  ];

  describe.each(clusterClients)('$library', ({ library, mapOption, connectorWith }) => {
    it('a node announcing an internal address is refused with ConfigurationError, and never connected to', async () => {
      const connector = connectorWith();
      try {
        await expect(connector.connect()).rejects.toEqual(refusal(announcedHost));
        expectOnlyLoopbackAttempts();
      } finally {
        await connector.close();
      }
    }, 30_000);

    it(`${mapOption} to a non-loopback address: refused too`, async () => {
      const connector = connectorWith({ [`${announcedHost}:${port}`]: { host: mappedHost, port } });
      try {
        await expect(connector.connect()).rejects.toEqual(refusal(mappedHost));
        expectOnlyLoopbackAttempts();
      } finally {
        await connector.close();
      }
    }, 30_000);

    it(`${mapOption} back to loopback: plaintext is allowed and the cluster works (the control)`, async () => {
      const connector = connectorWith({ [`${announcedHost}:${port}`]: { host: '127.0.0.1', port } });
      const key = `announced:${library}`;
      try {
        await connector.connect();
        await connector.client.set(key, 'yes');
        expect(await connector.client.get(key)).toBe('yes');
        expectOnlyLoopbackAttempts();
      } finally {
        await connector.close();
      }
    }, 30_000);
  });
});
