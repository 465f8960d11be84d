import { randomBytes } from 'node:crypto';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import type { ManagedIdentityDefinition } from './identity-types.js';

const algorithm = 'RS256';

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

export class TokenSigner {
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;
  readonly #tenantId: string;
  readonly #issuer: string;

  private constructor(privateKey: CryptoKey, publicJwk: JWK, tenantId: string) {
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
    this.#tenantId = tenantId;
    this.#issuer = issuerFor(tenantId);
  }

  static async create(tenantId: string, signingKey?: JWK): Promise<TokenSigner> {
    const privateKey = signingKey ? await importPrivateKey(signingKey) : await generatePrivateKey();
    const exported = await exportJWK(privateKey);
    // Only the public members go into the JWKS.
    const publicMembers: JWK = { kty: exported.kty, n: exported.n, e: exported.e };
    const kid = await calculateJwkThumbprint(publicMembers);
    return new TokenSigner(privateKey, { ...publicMembers, kid, alg: algorithm, use: 'sig' }, tenantId);
  }

  get issuer(): string {
    return this.#issuer;
  }

  get keyId(): string {
    return this.#publicJwk.kid ?? '';
  }

  publicKeys(): { keys: JWK[] } {
    return { keys: [{ ...this.#publicJwk }] };
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
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: algorithm, typ: 'JWT', kid: this.keyId })
      .sign(this.#privateKey);
    return { token, issuedAtSeconds, notBeforeSeconds: issuedAtSeconds, expiresOnSeconds };
  }
}

export function issuerFor(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

async function generatePrivateKey(): Promise<CryptoKey> {
  const { privateKey } = await generateKeyPair(algorithm, { extractable: true, modulusLength: 2048 });
  return privateKey;
}

async function importPrivateKey(signingKey: JWK): Promise<CryptoKey> {
  if (signingKey.kty !== 'RSA' || typeof signingKey.d !== 'string') {
    throw new TypeError('signingKey must be a private RSA JWK (kty "RSA" with "d")');
  }
  const imported = await importJWK({ ...signingKey, alg: algorithm, ext: true }, algorithm);
  if (imported instanceof Uint8Array) throw new TypeError('signingKey must be a private RSA JWK');
  return imported;
}
