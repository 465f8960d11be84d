import { bearerToken } from '../authorization/bearer-token.js';
import type { IdentityEndpoint, VerifiedTokenClaims } from '../identity/identity-types.js';
import { type TokenVerificationCheck, TokenVerificationError } from '../identity/token-verifier.js';
import { StorageError } from './storage-error.js';

export const storageResource = 'https://storage.azure.com';

// Azure's common 401 text for both codes
// (https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes).
const authenticateMessage =
  'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.';

// Azure validates with Microsoft.IdentityModel, whose default clock skew is five minutes.
const clockToleranceSeconds = 300;

export type BlobTokenVerifier = Pick<IdentityEndpoint, 'verifyToken' | 'tenantId'>;

/**
 * The bearer challenge Azure Storage sends with a 401: unquoted, space-separated, the tenant as the
 * authorization URI's first path segment — the SDK's challenge policy reads exactly that
 * (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#bearer-challenge).
 */
export function storageChallenge(tenantId: string): string {
  return `Bearer authorization_uri=https://login.microsoftonline.com/${tenantId}/oauth2/authorize resource_id=${storageResource}`;
}

/** The audiences Storage accepts: the service-wide one (with or without slash) and the account's own. */
export function storageAudiences(accountName: string): string[] {
  const account = `https://${accountName}.blob.core.windows.net`;
  return [storageResource, `${storageResource}/`, account, `${account}/`];
}

/**
 * Verifies the request's bearer token (RS256 signature against the identity endpoint's keys,
 * issuer, audience, lifetime) and returns its claims, or throws the answer Azure Storage gives:
 * 401 `NoAuthenticationInformation` without an Authorization header, 401
 * `InvalidAuthenticationInfo` for a token it cannot accept, both with the bearer challenge; 403
 * `KeyBasedAuthenticationNotPermitted` for Shared Key, which the local account has switched off
 * (`allowSharedKeyAccess: false`, what keyless recommends).
 */
export async function authenticateStorageRequest(
  authorization: string | undefined,
  verifier: BlobTokenVerifier,
  accountName: string,
): Promise<VerifiedTokenClaims> {
  const challenge = { 'WWW-Authenticate': storageChallenge(verifier.tenantId) };
  if (authorization === undefined || authorization.trim() === '') {
    throw new StorageError(401, 'NoAuthenticationInformation', authenticateMessage, { headers: challenge });
  }
  if (/^SharedKey(Lite)?\s/i.test(authorization)) {
    // https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent
    throw new StorageError(
      403,
      'KeyBasedAuthenticationNotPermitted',
      'Key based authentication is not permitted on this storage account.',
    );
  }
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new StorageError(401, 'InvalidAuthenticationInfo', authenticateMessage, {
      headers: challenge,
      details: { AuthenticationErrorDetail: 'Authentication scheme is not supported; send a Bearer token.' },
    });
  }
  try {
    return await verifier.verifyToken(token, {
      audience: storageAudiences(accountName),
      clockToleranceSeconds,
    });
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    throw new StorageError(401, 'InvalidAuthenticationInfo', authenticateMessage, {
      headers: challenge,
      details: { AuthenticationErrorDetail: rejectionDetail(error.check) },
    });
  }
}

// The AuthenticationErrorDetail lines Azure Storage sends (IdentityModel's wording); never the token.
function rejectionDetail(check: TokenVerificationCheck): string {
  switch (check) {
    case 'expired':
      return 'Lifetime validation failed. The token is expired.';
    case 'not-yet-valid':
      return 'Lifetime validation failed. The token is not yet valid.';
    case 'audience':
      return 'Audience validation failed. Audience did not match.';
    case 'issuer':
      return 'Issuer validation failed. Issuer did not match.';
    case 'signature':
      return 'Signature validation failed. Signature is invalid.';
    default:
      return 'The access token is malformed or its claims are not valid.';
  }
}

/** 403 for a caller whose roles do not hold the operation's permissions. */
export function permissionMismatch(): StorageError {
  return new StorageError(
    403,
    'AuthorizationPermissionMismatch',
    'This request is not authorized to perform this operation using this permission.',
  );
}
