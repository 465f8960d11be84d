import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type { ManagedIdentityDefinition } from './identity-types.js';
import { RsaSigningKey } from './rsa-signing-key.js';

export interface MintedToken {
  token: string;
  issuedAtSeconds: number;
  notBeforeSeconds: number;
  expiresOnSeconds: number;
}

export interface MintRequest {
  identity: ManagedIdentityDefinition;
  resource: string;
  lifetimeSeconds: number;
  nowMilliseconds: number;
}

/** Mints the tenant's access tokens: the same ones whichever way (managed identity or workload identity) they were asked for. */
export class TokenSigner {
  readonly #key: RsaSigningKey;
  readonly #tenantId: string;
  readonly #issuer: string;

  private constructor(key: RsaSigningKey, tenantId: string) {
    this.#key = key;
    this.#tenantId = tenantId;
    this.#issuer = issuerFor(tenantId);
  }

  static async create(tenantId: string, signingKey?: JWK): Promise<TokenSigner> {
    return new TokenSigner(await RsaSigningKey.create(signingKey), tenantId);
  }

  get issuer(): string {
    return this.#issuer;
  }

  get keyId(): string {
    return this.#key.keyId;
  }

  publicKeys(): { keys: JWK[] } {
    return this.#key.publicKeys();
  }

  async mint(request: MintRequest): Promise<MintedToken> {
    const issuedAtSeconds = Math.floor(request.nowMilliseconds / 1000);
    const expiresOnSeconds = issuedAtSeconds + request.lifetimeSeconds;
    const { identity } = request;
    // The claim set of a v1 managed-identity access token as Entra issues it.
    const claims: Record<string, unknown> = {
      aud: request.resource,
      iss: this.#issuer,
      iat: issuedAtSeconds,
      nbf: issuedAtSeconds,
      exp: expiresOnSeconds,
      appid: identity.clientId,
      appidacr: '2',
      idp: this.#issuer,
      idtyp: 'app',
      oid: identity.objectId,
      sub: identity.objectId,
      tid: this.#tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    if (identity.resourceId !== undefined) claims.xms_mirid = identity.resourceId;
    const token = await this.#key.sign(claims);
    return { token, issuedAtSeconds, notBeforeSeconds: issuedAtSeconds, expiresOnSeconds };
  }
}

export function issuerFor(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}
