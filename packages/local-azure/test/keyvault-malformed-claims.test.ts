import { decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerificationError } from '../src/index.js';
import {
  bearer,
  type KeyVaultStack,
  mintToken,
  rawRequest,
  startKeyVaultStack,
  vaultResource,
} from './support/key-vault-stack.js';

// Tokens correctly signed by the identity endpoint's own key whose claims have the wrong type: Key
// Vault answers an invalid token with 401 and the challenge, never with a server error.
let stack: KeyVaultStack;
let signingKey: JWK;
let validClaims: Record<string, unknown>;

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  signingKey = await exportJWK(privateKey);
  stack = await startKeyVaultStack({ identity: { signingKey } });
  const app = stack.identity.userAssigned[0];
  if (!app) throw new Error('the identity endpoint has no user-assigned identity');
  stack.vault.assignRole(app.objectId, 'Key Vault Secrets User');
  stack.vault.setSecret('seeded', 'seeded-value');
  validClaims = decodeJwt(await mintToken(stack.identity, vaultResource, { client_id: app.clientId }));
});

afterAll(async () => {
  await stack.stop();
});

/** Signs `claims` exactly as the endpoint signs its tokens: same key, same key id, RS256. */
async function signed(claims: Record<string, unknown>): Promise<string> {
  const key = await importJWK({ ...signingKey, alg: 'RS256' }, 'RS256');
  const keyId = stack.identity.jwks().keys[0]?.kid ?? '';
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: keyId }).sign(key);
}

function getSeeded(token: string) {
  return rawRequest(stack, '/secrets/seeded?api-version=7.5', { headers: bearer(token) });
}

// What Key Vault says: an audience or issuer that matches none it accepts gets its own message
// (AKV10022 / AKV10032), any other invalid token the generic one.
const invalidToken = "[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'.";
const malformed: [string, unknown, string][] = [
  ['oid', 42, invalidToken],
  ['oid', { value: 'x' }, invalidToken],
  ['oid', null, invalidToken],
  ['oid', ['6b65796c-0000-4000-8000-000000000000'], invalidToken],
  ['oid', '', invalidToken],
  ['tid', 7, invalidToken],
  ['appid', false, invalidToken],
  ['aud', 5, 'AKV10022: Invalid audience.'],
  ['aud', [vaultResource, 3], invalidToken],
  ['aud', { resource: vaultResource }, 'AKV10022: Invalid audience.'],
  ['iss', 3, 'AKV10032: Invalid issuer.'],
  ['exp', 'tomorrow', invalidToken],
  ['exp', null, invalidToken],
  ['nbf', '0', invalidToken],
  ['iat', {}, invalidToken],
  ['sub', 5, invalidToken],
  ['idtyp', ['app'], invalidToken],
  ['xms_mirid', 1, invalidToken],
];

describe('Key Vault: tokens with claims of the wrong type', () => {
  it('accepts the same claims, re-signed, when every claim has its type (the control)', async () => {
    const answer = await getSeeded(await signed(validClaims));
    expect(answer.status).toBe(200);
    expect(answer.body.value).toBe('seeded-value');
  });

  it.each(malformed)('answers 401 with the challenge for %s = %j', async (claim, value, message) => {
    const answer = await getSeeded(await signed({ ...validClaims, [claim]: value }));
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('Unauthorized');
    expect(answer.body.error.message.startsWith(message)).toBe(true);
    expect(answer.headers['www-authenticate']).toMatch(
      /^Bearer authorization="https:\/\/login\.microsoftonline\.com\//,
    );
  });

  it.each(malformed)('verifyToken rejects %s = %j with a TokenVerificationError', async (claim, value) => {
    const token = await signed({ ...validClaims, [claim]: value });
    const error = await stack.identity.verifyToken(token, { audience: vaultResource }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TokenVerificationError);
    expect(String((error as Error).message).includes(token)).toBe(false);
  });

  it('keeps serving afterwards', async () => {
    expect((await getSeeded(await signed(validClaims))).status).toBe(200);
  });
});
