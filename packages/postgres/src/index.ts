/**
 * `@keyless/postgres`: the factory and its types. The password sources, `fromKeyVaultSecret()`
 * and `entraToken()`, come from `@keyless/core` (one concept for every connector that logs in with
 * a password).
 */
export {
  type ConnectRetryEvent,
  createPostgresConnector,
  type IdleConnectionErrorEvent,
  type PasswordRefusedEvent,
  type PostgresConnector,
  type PostgresConnectorEvents,
} from './postgres-connector.js';
export type { PostgresConnectorOptions, PostgresPoolOptions } from './postgres-options.js';
