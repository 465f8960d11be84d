import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { ClusterIssuer } from './cluster-issuer.js';
import type { EntraRefusal } from './entra-errors.js';
import { refusals } from './entra-errors.js';
import type { FederatedCredentialStore } from './federated-credentials.js';

export interface AssertionContext {
  federatedCredentials: FederatedCredentialStore;
  /** The OIDC issuers this emulator can fetch keys from (real Entra fetches the issuer's discovery document). */
  issuers: readonly ClusterIssuer[];
  nowMilliseconds: number;
}

/**
 * Entra accepts an assertion a few minutes either side of its lifetime; the exact skew is not
 * published, so the emulator takes five minutes, the usual allowance of Microsoft's token validators.
 */
const clockSkewSeconds = 300;

/**
 * Checks a workload-identity client assertion as Entra does before it trusts it: a JWT at all
 * (AADSTS50027), a federated credential for its issuer (AADSTS700211), the issuer's signature
 * (AADSTS700027), its lifetime (AADSTS700024), then subject and audience (AADSTS70021). Returns
 * undefined when the assertion is accepted.
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation
 */
export async function checkClientAssertion(
  assertion: string,
  clientId: string,
  context: AssertionContext,
): Promise<EntraRefusal | undefined> {
  let claims: Record<string, unknown>;
  try {
    if (decodeProtectedHeader(assertion).alg === 'none') return refusals.malformedAssertion();
    claims = decodeJwt(assertion);
  } catch {
    return refusals.malformedAssertion();
  }
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  const audiences =
    typeof claims.aud === 'string'
      ? [claims.aud]
      : Array.isArray(claims.aud)
        ? claims.aud.filter((entry): entry is string => typeof entry === 'string')
        : [];
  const match = context.federatedCredentials.match(clientId, issuer, claims.sub, audiences);
  if (match.kind === 'no-issuer') return refusals.unknownIssuer(issuer);
  const signer = context.issuers.find((candidate) => candidate.url === issuer);
  if (!signer) return refusals.badSignature();
  try {
    await signer.verifySignature(assertion);
  } catch {
    return refusals.badSignature();
  }
  const nowSeconds = Math.floor(context.nowMilliseconds / 1000);
  const { exp, nbf } = claims;
  if (
    typeof exp !== 'number' ||
    exp + clockSkewSeconds < nowSeconds ||
    (typeof nbf === 'number' && nbf - clockSkewSeconds > nowSeconds)
  ) {
    return refusals.outsideValidTime(nowSeconds, nbf, exp);
  }
  if (match.kind === 'no-subject-or-audience') {
    return refusals.noMatchingFederatedCredential(issuer, claims.sub, claims.aud);
  }
  return undefined;
}
