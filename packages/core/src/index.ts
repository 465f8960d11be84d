/**
 * `@keyless/core`: what applications use. Helpers shared by keyless's own packages are in
 * `@keyless/core/internal`, test seams in `@keyless/core/testing`; neither is covered by semver.
 */
export type { KeylessAccessToken } from './access-token.js';
export {
  AuthenticationFailedError,
  AuthorizationError,
  ClosedError,
  ConfigurationError,
  CredentialUnavailableError,
  findKeylessError,
  InvalidTokenResponseError,
  isKeylessError,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorOptions,
  ServiceUnavailableError,
  ThrottledError,
} from './errors.js';
export type {
  TokenAcquiredEvent,
  TokenEventBase,
  TokenProviderEventName,
  TokenProviderEvents,
  TokenProviderListener,
  TokenRefreshFailedEvent,
  TokenThrottledEvent,
} from './events.js';
export type { ManagedIdentitySelector } from './identity.js';
export {
  type EntraTokenPassword,
  type EntraTokenPasswordOptions,
  entraToken,
  fromKeyVaultSecret,
  type KeyVaultSecretPassword,
  type KeyVaultSecretPasswordOptions,
  type PasswordSource,
  type SecretReader,
} from './password-source.js';
export { type TokenBackendName, type TokenProviderOptions, tokenBackendNames } from './provider-options.js';
export { REDACTED } from './redaction.js';
export type { Environment } from './settings.js';
export { createTokenProvider, type TokenProvider } from './token-provider.js';
