/**
 * `@keyless/keyvault/testing`: seams for tests and simulations (a clock, a random source, retry
 * delays, an environment, and a simulated vault's GET in place of the SecretClient's). Not for
 * applications, and not covered by semver.
 */
export type { KeyVaultConnectorInternals, SecretGetter } from './connector-options.js';
export { createKeyVaultConnectorWithInternals } from './keyvault-connector.js';
