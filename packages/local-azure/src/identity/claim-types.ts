import { TokenVerificationError } from './token-verification-error.js';

/**
 * The type every claim a keyless emulator reads must have, as Entra issues it in a v1 access token
 * (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference): strings for
 * identities and the audience, numbers for the NumericDate claims. A signature only proves who
 * signed the claims, not that they have these types; a claim of another type (an `oid` that is a
 * number, an `aud` that is an array) is an invalid token, which Azure answers with a 401 — never a
 * server error.
 */
const requiredStrings = ['iss', 'aud', 'oid', 'tid', 'appid'] as const;
const optionalStrings = ['sub', 'idp', 'idtyp', 'ver', 'appidacr', 'uti', 'xms_mirid'] as const;
const requiredNumbers = ['iat', 'nbf', 'exp'] as const;

/** Throws TokenVerificationError('claims') naming the first claim of the wrong type (never its value). */
export function assertClaimTypes(claims: Readonly<Record<string, unknown>>): void {
  for (const name of requiredStrings) {
    if (typeof claims[name] !== 'string' || claims[name] === '') {
      throw new TokenVerificationError('claims', `claim ${name} must be a non-empty string`);
    }
  }
  for (const name of optionalStrings) {
    if (claims[name] !== undefined && typeof claims[name] !== 'string') {
      throw new TokenVerificationError('claims', `claim ${name} must be a string`);
    }
  }
  for (const name of requiredNumbers) {
    if (typeof claims[name] !== 'number' || !Number.isFinite(claims[name])) {
      throw new TokenVerificationError('claims', `claim ${name} must be a number (seconds since 1970)`);
    }
  }
}
