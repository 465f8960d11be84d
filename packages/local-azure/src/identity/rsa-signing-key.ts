import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';

const algorithm = 'RS256';

/**
 * One RS256 key pair and its public JWK: what signs managed-identity tokens (TokenSigner) and what
 * signs the local cluster's service-account tokens (ClusterIssuer). Only the public members ever
 * leave this class.
 */
export class RsaSigningKey {
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;

  private constructor(privateKey: CryptoKey, publicJwk: JWK) {
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
  }

  /** A new key, or the given private RSA JWK (so tokens stay verifiable across restarts). */
  static async create(privateJwk?: JWK): Promise<RsaSigningKey> {
    const privateKey = privateJwk ? await importPrivateKey(privateJwk) : await generatePrivateKey();
    const exported = await exportJWK(privateKey);
    const publicMembers: JWK = { kty: exported.kty, n: exported.n, e: exported.e };
    const kid = await calculateJwkThumbprint(publicMembers);
    return new RsaSigningKey(privateKey, { ...publicMembers, kid, alg: algorithm, use: 'sig' });
  }

  get keyId(): string {
    return this.#publicJwk.kid ?? '';
  }

  publicKeys(): { keys: JWK[] } {
    return { keys: [{ ...this.#publicJwk }] };
  }

  sign(claims: Record<string, unknown>): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: algorithm, typ: 'JWT', kid: this.keyId })
      .sign(this.#privateKey);
  }
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
