import { decodeJwt } from 'jose';
import { bearerToken } from '../authorization/bearer-token.js';
import type { IdentityEndpoint, VerifiedTokenClaims } from '../identity/identity-types.js';
import { TokenVerificationError } from '../identity/token-verifier.js';
import { KeyVaultError } from './key-vault-errors.js';

export const vaultResource = 'https://vault.azure.net';

// Clients derive the resource from the scope `https://vault.azure.net/.default`, but a token asked
// for with a trailing slash is accepted too.
const acceptedAudiences = [vaultResource, `${vaultResource}/`];

// Azure validates with Microsoft.IdentityModel, whose default clock skew is five minutes.
const clockToleranceSeconds = 300;

/**
 * The header Azure sends with every 401. The SDK parses it with a space-separated `key="value"`
 * reader and takes the tenant from the authorization URL's path, so the shape must be exactly this.
 */
export function challengeHeader(tenantId: string): string {
  return `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${vaultResource}"`;
}

export type TokenVerifier = Pick<IdentityEndpoint, 'verifyToken' | 'tenantId'>;

/** Returns the verified claims, or throws the 401 Key Vault would answer (challenge included). */
export async function authenticateRequest(
  authorization: string | undefined,
  identity: TokenVerifier,
): Promise<VerifiedTokenClaims> {
  const token = bearerToken(authorization);
  if (token === undefined) {
    // observed
    throw unauthorized(identity, 'AKV10000: Request is missing a Bearer or PoP token.');
  }
  try {
    return await identity.verifyToken(token, { audience: acceptedAudiences, clockToleranceSeconds });
  } catch (error) {
    if (error instanceof TokenVerificationError) {
      throw unauthorized(identity, rejectionMessage(error, token, identity.tenantId));
    }
    throw error;
  }
}

function unauthorized(identity: TokenVerifier, message: string): KeyVaultError {
  return new KeyVaultError(401, 'Unauthorized', message, {
    headers: { 'WWW-Authenticate': challengeHeader(identity.tenantId) },
  });
}

// Messages quote claims (never the token itself), as Azure's do.
function rejectionMessage(error: TokenVerificationError, token: string, tenantId: string): string {
  switch (error.check) {
    case 'audience':
      // observed
      return `AKV10022: Invalid audience. Expected ${vaultResource}, found: ${claim(token, 'aud')}.`;
    case 'issuer':
      // observed (Azure lists every cloud's issuer for the tenant; only the one this stack mints is listed)
      return `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${tenantId}/, found ${claim(token, 'iss')}.`;
    case 'expired':
      // observed
      return "[TokenExpired] Error validating token: 'S2S12086'.";
    case 'not-yet-valid':
      return 'Token not yet valid.';
    case 'signature':
      // observed: the answer for a token whose signing key the vault does not know
      return `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${token.split('.')[0]}'.`;
    default:
      return "[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'.";
  }
}

function claim(token: string, name: 'aud' | 'iss'): string {
  try {
    const value = decodeJwt(token)[name];
    return Array.isArray(value) ? value.join(',') : String(value);
  } catch {
    return '';
  }
}
