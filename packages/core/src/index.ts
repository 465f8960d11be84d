export type { FetchedToken, KeylessAccessToken } from './access-token.js';
export type { TokenBackend, TokenRequest } from './backends/token-backend.js';
export { BackgroundAttempt } from './background-attempt.js';
export type { Clock, TimerHandle } from './clock.js';
export { systemClock } from './clock.js';
export {
  AuthenticationFailedError,
  AuthorizationError,
  ClosedError,
  ConfigurationError,
  CredentialUnavailableError,
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
export { describeIdentity, type ManagedIdentitySelector } from './identity.js';
export { ManualClock, settle } from './manual-clock.js';
export { isNetworkFailure, isNetworkFailureCode, networkFailureCodes } from './network-failure.js';
export { type TokenBackendName, type TokenProviderOptions, tokenBackendNames } from './provider-options.js';
export { REDACTED, redactKnownSecrets, redactText, registerSecretForRedaction } from './redaction.js';
export {
  type BackoffOptions,
  backoffDelay,
  delayAfterFailure,
  parseRetryAfter,
  refreshJitterFraction,
  spreadEarlier,
} from './retry-policy.js';
export { isLoopbackHost, resolveServiceUrl, type ServiceUrlSetting } from './service-url.js';
export {
  type Environment,
  type MissingSettingDescription,
  portSchema,
  type ResolvedSetting,
  requireSetting,
  resolveSetting,
  type SettingSource,
} from './settings.js';
export { createTokenProvider, type TokenProvider, type TokenProviderInternals } from './token-provider.js';
