/**
 * `@keyless/redis`: the factory and its types. The password sources, `fromKeyVaultSecret()` and
 * `entraToken()`, come from `@keyless/core` (one concept for every connector that logs in with a
 * password).
 */
export {
  createRedisConnector,
  type RedisConnector,
  type RedisConnectorEvent,
  type RedisConnectorEventName,
} from './redis-connector.js';
export type { RefusedRedisOption } from './redis-option-guard.js';
export type { PassedRedisOptions, RedisConnectorOptions } from './redis-options.js';
