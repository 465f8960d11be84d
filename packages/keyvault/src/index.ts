/**
 * `@keyless/keyvault`: what applications use. The password-source binding shared with keyless's
 * PostgreSQL and Redis connectors is in `@keyless/keyvault/internal`, test and simulation seams in
 * `@keyless/keyvault/testing`; neither is covered by semver.
 */
export type { KeyVaultConnectorOptions } from './connector-options.js';
export {
  createKeyVaultConnector,
  type KeyVaultConnectOptions,
  type KeyVaultConnector,
} from './keyvault-connector.js';
export type { SecretChangeEvent, SecretRefreshFailedEvent } from './secret-events.js';
export type { SecretSource, SecretSourceOptions } from './secret-source.js';
