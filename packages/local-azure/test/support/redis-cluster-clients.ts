import { Cluster, Redis } from 'ioredis';
import type { LocalCertificateAuthority, RedisClusterInstance, RedisClusterNode } from '../../src/index.js';
import { authenticate } from './redis-clients.js';

/** The launcher options' `tls` for the CA the test workers trust. */
export function clusterTls(authority: LocalCertificateAuthority) {
  return {
    certPath: authority.serverCertificatePath,
    keyPath: authority.serverKeyPath,
    caPath: authority.caCertificatePath,
  };
}

/**
 * How a cluster-aware application connects: ioredis `Cluster` from the seed list, TLS with the local
 * CA, the same user on every node it finds (MOVED, failover). Its own retries stay on.
 */
export function connectToCluster(
  cluster: RedisClusterInstance,
  authority: LocalCertificateAuthority,
  username: string,
  password: string,
): Cluster {
  const seeds = cluster.seedList.split(',').map((seed) => {
    const [host = '', port = ''] = seed.split(':');
    return { host, port: Number(port) };
  });
  const client = new Cluster(seeds, {
    redisOptions: { tls: { ca: authority.caCertificate }, username, password },
  });
  client.on('error', () => {});
  return client;
}

/** `AUTH user password` on a fresh TLS connection to one node: 'OK' or the error's first word. */
export async function tryAuthOnNode(
  node: RedisClusterNode,
  authority: LocalCertificateAuthority,
  user: string,
  password: string,
): Promise<string> {
  const client = new Redis({
    host: node.host,
    port: node.tlsPort,
    tls: { ca: authority.caCertificate },
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await authenticate(client, user, password);
  } finally {
    client.disconnect();
  }
}

/** The answer of every node, in `cluster.nodes` order. */
export function onEveryNode(
  cluster: RedisClusterInstance,
  authority: LocalCertificateAuthority,
  user: string,
  password: string,
): Promise<string[]> {
  return Promise.all(cluster.nodes.map((node) => tryAuthOnNode(node, authority, user, password)));
}

/** Slot ranges as one sorted list of [from, to]. */
export function coveredSlots(ranges: readonly (readonly [number, number])[]): number {
  return ranges.reduce((count, [from, to]) => count + (to - from + 1), 0);
}
