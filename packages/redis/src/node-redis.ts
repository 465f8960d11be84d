/**
 * `@keyless/redis/node-redis`: the same keyless Redis connection for node-redis v5 (the npm package
 * `redis`). A subpath of its own, so that an application using node-redis never loads ioredis and
 * one using ioredis (`@keyless/redis`) never loads node-redis: each client is an optional peer.
 */
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
export type { RedisConnectorEvent, RedisConnectorEventName } from './redis-connector.js';
