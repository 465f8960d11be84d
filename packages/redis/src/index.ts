export {
  type EntraTokenAuth,
  entraToken,
  type FromKeyVaultSecretOptions,
  fromKeyVaultSecret,
  type KeyVaultSecretAuth,
  type RedisAuth,
} from './redis-auth.js';
export {
  createRedisConnector,
  type RedisConnector,
  type RedisConnectorEvent,
  type RedisConnectorEventName,
} from './redis-connector.js';
export type { RefusedRedisOption } from './redis-option-guard.js';
export type { PassedRedisOptions, RedisConnectorOptions } from './redis-options.js';
