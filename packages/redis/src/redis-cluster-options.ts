import { isIP } from 'node:net';
import { ConfigurationError, type Environment, type PasswordSource, type TokenProvider } from '@keyless/core';
import { assertNoWeakenedTls } from '@keyless/core/internal';
import type { ClusterOptions, NatMap } from 'ioredis';
import type { PassedRedisOptions, ResolvedConnection } from './redis-options.js';

/** Cluster options keyless passes through: all but the per-node options and the address map, which are its own. */
export type PassedClusterOptions = Omit<ClusterOptions, 'redisOptions' | 'natMap'>;

/** Options of `createRedisClusterConnector()`. */
export interface RedisClusterConnectorOptions {
  /**
   * Seed nodes: `'host:port'` strings or `{ host, port }` — else KEYLESS_REDIS_CLUSTER_NODES
   * (`host:port,host:port`). Azure Managed Redis with the OSS cluster policy: `<name>.<region>.redis.azure.net:10000`.
   */
  nodes?: readonly (string | { host: string; port: number })[];
  /**
   * TLS for every node, seeds and the nodes the cluster announces alike. Default on. `{ ca }` trusts
   * an extra CA. Each certificate is verified against the address keyless connects to: when nodes
   * announce addresses their certificate does not name, map them to names it does with `natMap`
   * (a `servername` that differs from the address is refused, as everywhere in keyless). `false`
   * only for a cluster on this machine (loopback): every node address is checked before each connect.
   */
  tls?: boolean | { ca?: string | Buffer };
  /** As for `createRedisConnector()`: `fromKeyVaultSecret(…)` or `entraToken()`. */
  password: PasswordSource;
  /** As for `createRedisConnector()` (Entra: the identity's object id, else KEYLESS_REDIS_ENTRA_USER). */
  user?: string;
  /** The shared provider; built from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /**
   * ioredis's `natMap`: from the address a node announces to the one to connect to. The transport
   * rule holds for the mapped address (TLS verified, or loopback without TLS).
   */
  natMap?: NatMap;
  /** ioredis options for every node connection; the same refusals as `createRedisConnector()`'s `redisOptions`. */
  redisOptions?: PassedRedisOptions;
  /** Passed to ioredis's `Cluster` (`scaleReads`, `clusterRetryStrategy`, `clusterNodeRetryStrategy`, …). */
  clusterOptions?: PassedClusterOptions;
}

export const clusterNodesVariable = 'KEYLESS_REDIS_CLUSTER_NODES';

export interface SeedNode {
  host: string;
  port: number;
}

/** The seed list, options first, environment second. */
export function resolveSeedNodes(
  nodes: RedisClusterConnectorOptions['nodes'],
  environment: Environment = process.env,
): SeedNode[] {
  const fromEnvironment = nodes === undefined;
  const raw = nodes ?? environment[clusterNodesVariable]?.split(',').filter((seed) => seed.trim() !== '');
  const where = fromEnvironment ? `the environment variable ${clusterNodesVariable}` : 'the option `nodes`';
  if (raw === undefined || raw.length === 0) {
    throw new ConfigurationError('No Redis Cluster nodes configured', {
      hint: `set the option \`nodes\` (e.g. ['<name>.<region>.redis.azure.net:10000']) or ${clusterNodesVariable} (host:port,host:port; \`keyless-local up redis --redis-cluster\` prints it for the local stack)`,
    });
  }
  if (!Array.isArray(raw)) throw new ConfigurationError(`Invalid ${where}: expected a list of host:port`);
  return raw.map((seed) => parseSeed(seed, where));
}

function parseSeed(seed: unknown, where: string): SeedNode {
  let host: unknown;
  let port: unknown;
  if (typeof seed === 'string') {
    const match = /^\s*\[?([^\s\]]+?)\]?:(\d+)\s*$/.exec(seed);
    host = match?.[1];
    port = match ? Number(match[2]) : undefined;
  } else if (typeof seed === 'object' && seed !== null) {
    ({ host, port } = seed as { host?: unknown; port?: unknown });
  }
  const validHost = typeof host === 'string' && (isIP(host) !== 0 || /^[^\s/:@]+$/.test(host));
  const validPort = typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536;
  if (!validHost || !validPort) {
    throw new ConfigurationError(`Invalid Redis Cluster node in ${where}`, {
      hint: 'give each node as host:port (e.g. <name>.<region>.redis.azure.net:10000) or { host, port }',
    });
  }
  return { host: host as string, port: port as number };
}

/** TLS for every node; plaintext is remembered with its reason for the loopback-only refusal. */
export function resolveClusterTls(value: unknown): ResolvedConnection['tls'] {
  if (value === false) return false;
  if (value === undefined || value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError('Invalid option `tls`', { hint: 'give true, false or { ca }' });
  }
  assertNoWeakenedTls(value, 'tls', { service: 'Redis' });
  const { ca, ...rest } = value as { ca?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ConfigurationError(`Invalid option \`tls.${unknown[0]}\` for a Redis Cluster`, {
      hint: 'only `tls: { ca }` is supported: keyless connects to each node and verifies its certificate against that address (map announced addresses to certificate names with `natMap`)',
    });
  }
  if (ca !== undefined && typeof ca !== 'string' && !Buffer.isBuffer(ca)) {
    throw new ConfigurationError('Invalid option `tls.ca` for Redis: expected PEM text or a Buffer');
  }
  return ca === undefined ? {} : { ca: ca as string | Buffer };
}

/** `clusterOptions`, copied; the keys that are keyless's are refused, never silently dropped. */
export function resolvePassedClusterOptions(value: unknown): PassedClusterOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      'Invalid option `clusterOptions`: expected an object of ioredis Cluster options',
    );
  }
  const copy = { ...(value as Record<string, unknown>) };
  for (const key of ['redisOptions', 'natMap'] as const) {
    if (Object.hasOwn(copy, key)) {
      throw new ConfigurationError(`Invalid option \`clusterOptions.${key}\` for a Redis Cluster`, {
        hint:
          key === 'natMap'
            ? 'set the top-level option `natMap`'
            : 'set the top-level option `redisOptions`: keyless adds its own connector and credentials to it',
      });
    }
  }
  return copy as PassedClusterOptions;
}

/** One node's connection for the transport rule (TLS verified, or loopback when plaintext). */
export function nodeConnection(
  node: { host?: unknown; port?: unknown },
  tls: ResolvedConnection['tls'],
): ResolvedConnection {
  // Anything but a host name fails the transport rule (never loopback, never a TLS name).
  const host = typeof node.host === 'string' ? node.host : '';
  const port = typeof node.port === 'number' ? node.port : Number(node.port);
  return tls === false
    ? { host, port, tls, plaintextBecause: 'the option `tls: false`' }
    : { host, port, tls };
}
