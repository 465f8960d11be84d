export {
  ensureLocalCertificateAuthority,
  type LocalCertificateAuthority,
} from './certificates/local-certificate-authority.js';
export { startIdentityEndpoint } from './identity/identity-endpoint.js';
export type {
  IdentityCounters,
  IdentityEndpoint,
  IdentityEndpointOptions,
  IdentityFaults,
  IdentityProtocol,
  IssuedTokenEvent,
  ManagedIdentityDefinition,
  SystemAssignedIdentityDefinition,
  ThrottleOptions,
  TokenIssuedListener,
  VerifiedTokenClaims,
  VerifyTokenExpectations,
} from './identity/identity-types.js';
export { type TokenVerificationCheck, TokenVerificationError } from './identity/token-verifier.js';
