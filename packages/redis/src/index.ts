/**
 * `@keyless/redis`: the factories and their types — `createRedisConnector()` for ioredis,
 * `createNodeRedisConnector()` for node-redis v5,
 * `createRedisClusterConnector()` / `createNodeRedisClusterConnector()` for a Redis Cluster. Each client library is an optional peer that loads
 * with its factory's first client, so importing this package loads neither. The password sources, `fromKeyVaultSecret()` and
 * `entraToken()`, come from `@keyless/core` (one concept for every connector that logs in with a
 * password).
 */

export {
  createNodeRedisClusterConnector,
  type NodeRedisCluster,
  type NodeRedisClusterConnector,
} from './node-redis-cluster-connector.js';
export type {
  NodeRedisClusterConnectorOptions,
  NodeRedisNodeAddress,
  NodeRedisNodeAddressMap,
  PassedNodeRedisClusterOptions,
  RefusedNodeRedisClusterOption,
} from './node-redis-cluster-options.js';
export {
  createNodeRedisConnector,
  type NodeRedisClient,
  type NodeRedisConnector,
} from './node-redis-connector.js';
export type {
  NodeRedisConnectorOptions,
  PassedNodeRedisOptions,
  PassedNodeRedisSocketOptions,
  RefusedNodeRedisOption,
} from './node-redis-options.js';
export {
  createRedisClusterConnector,
  type RedisClusterConnector,
} from './redis-cluster-connector.js';
export type { PassedClusterOptions, RedisClusterConnectorOptions } from './redis-cluster-options.js';
export {
  createRedisConnector,
  type RedisConnector,
  type RedisConnectorEvent,
  type RedisConnectorEventName,
} from './redis-connector.js';
export type { RefusedRedisOption } from './redis-option-guard.js';
export type { PassedRedisOptions, RedisConnectorOptions } from './redis-options.js';
