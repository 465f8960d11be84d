/**
 * `@keyless/core/internal`: helpers that keyless's own packages share. Not for applications, and
 * not covered by semver: anything here may change in any release.
 */

export { BackgroundAttempt } from './background-attempt.js';
export { type Clock, systemClock, type TimerHandle } from './clock.js';
export {
  credentialPrintingDebugSwitches,
  warnAboutCredentialPrintingDebugOutput,
} from './debug-output.js';
export { TypedEmitter } from './events.js';
export { describeIdentity } from './identity.js';
export { type LibraryUse, missingLibraryError } from './missing-library.js';
export { isNetworkFailure, isNetworkFailureCode, networkFailureCodes } from './network-failure.js';
export { isPasswordSource } from './password-source.js';
export { Readiness } from './readiness.js';
export {
  boundedErrorText,
  defineSecretProperty,
  installRedactedViews,
  maxErrorTextLength,
  maxKnownSecrets,
  type RedactionMeter,
  redactKnownSecrets,
  redactText,
  redactTextCounting,
  registerSecretForRedaction,
} from './redaction.js';
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
  booleanSetting,
  type InvalidSetting,
  invalid,
  matchingText,
  oneOf,
  portSchema,
  type SettingCheck,
  type SettingSchema,
  settingSchema,
  wholeNumber,
} from './setting-schema.js';
export {
  type MissingSettingDescription,
  type ResolvedSetting,
  requireSetting,
  resolveSetting,
  type SettingSource,
} from './settings.js';
export {
  type OperationError,
  recordAuthenticationFailure,
  recordLogin,
  recordRotationHandled,
  recordSecretFetch,
} from './telemetry/operation-telemetry.js';
export { resolveTokenProviderOption } from './token-provider-option.js';
export {
  assertNoWeakenedTls,
  assertSecretDestination,
  assertUrlDestination,
  type CertificateFailureContext,
  certificateFailureCode,
  isUntrustedCertificateError,
  type SecretDestination,
  tlsVerificationVariable,
  type UrlDestination,
  untrustedCertificateError,
} from './transport-security.js';
