/**
 * `@keyless/core/internal`: helpers that keyless's own packages share. Not for applications, and
 * not covered by semver: anything here may change in any release.
 */
export {
  credentialPrintingDebugSwitches,
  warnAboutCredentialPrintingDebugOutput,
} from './debug-output.js';
export {
  boundedErrorText,
  maxErrorTextLength,
  maxKnownSecrets,
  type RedactionMeter,
  redactTextCounting,
} from './redaction.js';
export {
  assertNoWeakenedTls,
  assertSecretDestination,
  assertUrlDestination,
  type CertificateFailureContext,
  certificateFailureCode,
  isUntrustedCertificateError,
  type SecretDestination,
  tlsVerificationVariable,
  untrustedCertificateError,
  type UrlDestination,
} from './transport-security.js';
