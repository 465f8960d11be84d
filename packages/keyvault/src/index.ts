export type {
  KeyVaultConnectorInternals,
  KeyVaultConnectorOptions,
  SecretGetter,
} from './connector-options.js';
export { createKeyVaultConnector, type KeyVaultConnector } from './keyvault-connector.js';
export type { SecretChangeEvent, SecretRefreshFailedEvent } from './secret-events.js';
export type { SecretSource, SecretSourceOptions } from './secret-source.js';
