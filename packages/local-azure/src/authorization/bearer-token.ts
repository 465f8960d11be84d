import type { VerifiedTokenClaims } from '../identity/identity-types.js';

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when the header is missing
 * or has another scheme. Shared by every emulator that takes Entra tokens over HTTP (Key Vault,
 * Blob), so they agree on what counts as "no token".
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** How Azure's 403 messages name a caller: by appid, oid and issuer (never the token). */
export function callerDescription(claims: VerifiedTokenClaims): string {
  return `appid=${claims.appid};oid=${claims.oid};iss=${claims.iss}`;
}

/**
 * The key a role assignment or access policy is stored under: the principal's object id (the
 * token's `oid`), lower-cased because GUIDs compare case-insensitively.
 */
export function principalKey(principalId: string, caller: string): string {
  if (typeof principalId !== 'string' || principalId.trim() === '') {
    throw new TypeError(`${caller}: principalId must be the caller's object id (the token's oid)`);
  }
  return principalId.trim().toLowerCase();
}
