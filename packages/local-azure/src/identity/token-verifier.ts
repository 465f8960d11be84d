import { createLocalJWKSet, errors, type JWK, jwtVerify } from 'jose';
import { assertClaimTypes } from './claim-types.js';
import type { VerifiedTokenClaims, VerifyTokenExpectations } from './identity-types.js';
import { TokenVerificationError } from './token-verification-error.js';

export { type TokenVerificationCheck, TokenVerificationError } from './token-verification-error.js';

export interface TokenVerifierContext {
  issuer: string;
  publicKeys: () => { keys: JWK[] };
  nowMilliseconds: () => number;
}

export async function verifyIssuedToken(
  context: TokenVerifierContext,
  token: string,
  expected: VerifyTokenExpectations,
): Promise<VerifiedTokenClaims> {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new TokenVerificationError(
      'malformed',
      'the token is not a compact JWS (three dot-separated parts)',
    );
  }
  const expectedAudiences = Array.isArray(expected.audience) ? expected.audience : [expected.audience];
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(context.publicKeys()), {
      algorithms: ['RS256'],
      issuer: context.issuer,
      audience: expectedAudiences,
      currentDate: new Date(context.nowMilliseconds()),
      clockTolerance: expected.clockToleranceSeconds ?? 0,
      requiredClaims: ['iat', 'nbf', 'exp', 'oid', 'tid', 'appid'],
    });
    assertClaimTypes(payload);
    return payload as VerifiedTokenClaims;
  } catch (error) {
    throw toVerificationError(error, expectedAudiences);
  }
}

function toVerificationError(error: unknown, expectedAudiences: readonly string[]): TokenVerificationError {
  if (error instanceof TokenVerificationError) return error;
  // jose's messages never quote the token, but claim values may help: keep them.
  if (error instanceof errors.JWTExpired) {
    return new TokenVerificationError('expired', `the token has expired (exp ${error.payload.exp})`);
  }
  // A claim of the wrong type (`"nbf": "soon"`) is 'invalid', not a failed time or value check.
  if (error instanceof errors.JWTClaimValidationFailed && error.reason === 'invalid') {
    return new TokenVerificationError('claims', `claim ${error.claim} has the wrong type`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return new TokenVerificationError(
          'audience',
          `the token's audience ${JSON.stringify(error.payload.aud)} is not ${expectedAudiences.map((audience) => JSON.stringify(audience)).join(' or ')}`,
        );
      case 'iss':
        return new TokenVerificationError(
          'issuer',
          `the token's issuer ${JSON.stringify(error.payload.iss)} is not this endpoint's`,
        );
      case 'nbf':
        return new TokenVerificationError(
          'not-yet-valid',
          `the token is not valid before ${error.payload.nbf}`,
        );
      default:
        return new TokenVerificationError('claims', `claim ${error.claim} failed: ${error.reason}`);
    }
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JOSEAlgNotAllowed
  ) {
    return new TokenVerificationError('signature', "the token was not signed by this endpoint's key");
  }
  return new TokenVerificationError('malformed', 'the token could not be parsed as a JWT');
}
