import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { RsaSigningKey } from '../identity/rsa-signing-key.js';

/** The audience AKS workload identity asks the kubelet to put in the projected token. */
export const tokenExchangeAudience = 'api://AzureADTokenExchange';

/** Kubernetes' service-account subject: `system:serviceaccount:<namespace>:<name>`. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

export interface ServiceAccountTokenRequest {
  namespace: string;
  serviceAccount: string;
  audience: string | string[];
  lifetimeSeconds: number;
  nowMilliseconds: number;
}

export interface ServiceAccountToken {
  token: string;
  issuedAtSeconds: number;
  expiresOnSeconds: number;
}

/** Where the issuer's documents live below its URL, as the Kubernetes API server serves them. */
export const clusterJwksPath = 'openid/v1/jwks';

/**
 * The local cluster's OIDC issuer: its own RSA key signs projected service-account tokens with the
 * claims the Kubernetes API server puts in them (iss, sub, aud, iat, nbf, exp, jti and the
 * `kubernetes.io` object naming namespace, pod and service account —
 * https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume),
 * and publishes discovery and keys under its URL the way an AKS OIDC issuer does
 * (https://learn.microsoft.com/azure/aks/use-oidc-issuer), so Entra can verify them.
 */
export class ClusterIssuer {
  readonly url: string;
  readonly #key: RsaSigningKey;
  // Fixed per issuer: Kubernetes gives each pod and service account a uid of its own.
  readonly #podUid = randomUUID();
  readonly #serviceAccountUid = randomUUID();

  private constructor(url: string, key: RsaSigningKey) {
    this.url = url;
    this.#key = key;
  }

  /** `url` ends with a slash, as AKS issuer URLs do. */
  static async create(url: string): Promise<ClusterIssuer> {
    return new ClusterIssuer(url.endsWith('/') ? url : `${url}/`, await RsaSigningKey.create());
  }

  publicKeys(): { keys: JWK[] } {
    return this.#key.publicKeys();
  }

  discoveryDocument(): object {
    return {
      issuer: this.url,
      jwks_uri: `${this.url}${clusterJwksPath}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }

  async mint(request: ServiceAccountTokenRequest): Promise<ServiceAccountToken> {
    const issuedAtSeconds = Math.floor(request.nowMilliseconds / 1000);
    const expiresOnSeconds = issuedAtSeconds + request.lifetimeSeconds;
    const token = await this.#key.sign({
      aud: Array.isArray(request.audience) ? request.audience : [request.audience],
      exp: expiresOnSeconds,
      iat: issuedAtSeconds,
      iss: this.url,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: request.namespace,
        pod: { name: `${request.serviceAccount}-local`, uid: this.#podUid },
        serviceaccount: { name: request.serviceAccount, uid: this.#serviceAccountUid },
      },
      nbf: issuedAtSeconds,
      sub: serviceAccountSubject(request.namespace, request.serviceAccount),
    });
    return { token, issuedAtSeconds, expiresOnSeconds };
  }

  /** Checks the signature only (Entra checks time and federation itself, with its own error codes). */
  async verifySignature(token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, createLocalJWKSet(this.publicKeys()), {
      algorithms: ['RS256'],
      // Far in the past: lifetime is judged by the caller, which answers AADSTS700024 for it.
      currentDate: new Date(0),
      clockTolerance: Number.MAX_SAFE_INTEGER,
    });
    return payload;
  }
}
