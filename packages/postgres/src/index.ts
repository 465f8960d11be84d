export {
  entraToken,
  fromKeyVaultSecret,
  type KeyVaultSecretOptions,
  type PostgresPasswordMode,
  type PostgresPasswordSource,
} from './password-source.js';
export {
  type ConnectRetryEvent,
  createPostgresConnector,
  type IdleConnectionErrorEvent,
  type PasswordRefusedEvent,
  type PostgresConnector,
  type PostgresConnectorEvents,
} from './postgres-connector.js';
export type { PostgresConnectorOptions, PostgresPoolOptions } from './postgres-options.js';
