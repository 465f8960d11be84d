import { ConfigurationError, type PasswordSource, type TokenProvider } from '@keyless/core';
import { assertNoWeakenedTls } from '@keyless/core/internal';
import type { RedisClusterOptions } from 'redis';
import { type PassedNodeRedisOptions, resolvePassedNodeRedisOptions } from './node-redis-options.js';

/** Where node-redis connects for a node it was told about (its `NodeAddress`). */
export interface NodeRedisNodeAddress {
  host: string;
  port: number;
}

/** node-redis's `nodeAddressMap`: from an announced `host:port` to where to connect. */
export type NodeRedisNodeAddressMap =
  | Readonly<Record<string, NodeRedisNodeAddress>>
  | ((address: string) => NodeRedisNodeAddress | undefined);

/** `createCluster` options keyless decides itself: the seeds, the per-node options and the address map. */
export type RefusedNodeRedisClusterOption = 'rootNodes' | 'defaults' | 'nodeAddressMap';

/** node-redis `createCluster` options keyless passes through (`useReplicas`, `RESP`, `maxCommandRedirections`, …). */
export type PassedNodeRedisClusterOptions = Omit<RedisClusterOptions, RefusedNodeRedisClusterOption>;

/** Options of `createNodeRedisClusterConnector()`: those of `createRedisClusterConnector()`, in node-redis's terms. */
export interface NodeRedisClusterConnectorOptions {
  /**
   * Seed nodes: `'host:port'` strings or `{ host, port }` — else KEYLESS_REDIS_CLUSTER_NODES.
   * Azure Managed Redis with the OSS cluster policy: `<name>.<region>.redis.azure.net:10000`.
   */
  nodes?: readonly (string | { host: string; port: number })[];
  /**
   * TLS for every node connection, seeds and announced nodes alike. Default on; `{ ca }` trusts an
   * extra CA. Each certificate is verified against the address node-redis connects to (after
   * `nodeAddressMap`). `false` only for a cluster on this machine: every node address is checked.
   */
  tls?: boolean | { ca?: string | Buffer };
  /** `fromKeyVaultSecret(…)` or `entraToken()` of `@keyless/core`. */
  password: PasswordSource;
  /** As for `createRedisConnector()` (Entra: the identity's object id, else KEYLESS_REDIS_ENTRA_USER). */
  user?: string;
  /** The shared provider; built from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /**
   * node-redis's `nodeAddressMap`: from the address a node announces to the one to connect to (for
   * nodes that announce internal addresses). The transport rule holds for the mapped address.
   */
  nodeAddressMap?: NodeRedisNodeAddressMap;
  /**
   * Options of every node connection (node-redis's `defaults`), with the refusals of
   * `createNodeRedisConnector()`'s `clientOptions` (no `url`, `username`, `password`,
   * `credentialsProvider`, and of `socket` only timeouts, keep-alive and `reconnectStrategy`).
   */
  clientOptions?: PassedNodeRedisOptions;
  /**
   * Passed to node-redis's `createCluster` (`useReplicas`, `minimizeConnections`, `RESP`,
   * `maxCommandRedirections`, …). `rootNodes`, `defaults` and `nodeAddressMap` are the top-level
   * options `nodes`, `clientOptions` and `nodeAddressMap`: giving them here throws ConfigurationError.
   */
  clusterOptions?: PassedNodeRedisClusterOptions;
}

const refusedClusterOptions: Readonly<Record<RefusedNodeRedisClusterOption, string>> = {
  rootNodes:
    'set the top-level option `nodes` (or KEYLESS_REDIS_CLUSTER_NODES): keyless connects to them with TLS verified and its own credentials',
  defaults:
    'set the top-level option `clientOptions`: keyless adds its TLS settings and credentials provider to every node connection',
  nodeAddressMap:
    'set the top-level option `nodeAddressMap`: keyless checks the transport rule for every mapped address',
};

/**
 * `clusterOptions`, checked and copied. TLS-weakening keys are refused at any depth (a
 * `rejectUnauthorized: false` inside `defaults.socket` or a `rootNodes[]` entry included) before the
 * keys that are keyless's own are refused by name.
 */
export function resolvePassedNodeRedisClusterOptions(value: unknown): PassedNodeRedisClusterOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      'Invalid option `clusterOptions` for Redis: expected an object of node-redis createCluster options',
    );
  }
  const copy = { ...(value as Record<string, unknown>) };
  assertNoWeakenedTls(copy, 'clusterOptions', { service: 'Redis' });
  for (const [key, hint] of Object.entries(refusedClusterOptions)) {
    if (Object.hasOwn(copy, key) && copy[key] !== undefined && copy[key] !== null) {
      // What is wrong inside is named first (a password in defaults, say), then the key itself.
      if (key === 'defaults') resolvePassedNodeRedisOptions(copy[key], 'clusterOptions.defaults');
      throw new ConfigurationError(`Invalid option \`clusterOptions.${key}\` for Redis`, { hint });
    }
  }
  return copy as PassedNodeRedisClusterOptions;
}

/** `nodeAddressMap`: a function or a plain object of `host:port` → `{ host, port }`. */
export function resolveNodeAddressMap(value: unknown): NodeRedisNodeAddressMap | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'function') return value as NodeRedisNodeAddressMap;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('Invalid option `nodeAddressMap` for Redis', {
      hint: "give a function (address: 'host:port') => ({ host, port }) or an object of such entries",
    });
  }
  assertNoWeakenedTls(value, 'nodeAddressMap', { service: 'Redis' });
  return { ...(value as Record<string, NodeRedisNodeAddress>) };
}
