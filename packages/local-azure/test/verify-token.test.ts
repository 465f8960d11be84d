import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint, TokenVerificationError } from '../src/index.js';
import { getJson, imdsHeaders, imdsUrl, storageResource } from './support/token-requests.js';

let clock = Date.UTC(2030, 5, 1);
let endpoint: IdentityEndpoint;

beforeAll(async () => {
  endpoint = await startIdentityEndpoint({ now: () => clock, tokenLifetimeSeconds: 3_600 });
});

afterAll(async () => {
  await endpoint.stop();
});

async function mint(target: IdentityEndpoint, resource = storageResource): Promise<string> {
  const answer = await getJson(imdsUrl(target, { 'api-version': '2018-02-01', resource }), imdsHeaders);
  return answer.body.access_token;
}

async function failedCheck(promise: Promise<unknown>): Promise<TokenVerificationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TokenVerificationError);
  return error as TokenVerificationError;
}

describe('verifyToken', () => {
  it('returns the claims of a token minted here', async () => {
    const claims = await endpoint.verifyToken(await mint(endpoint), { audience: storageResource });
    expect(claims).toMatchObject({ aud: storageResource, tid: endpoint.tenantId, iss: endpoint.issuer });
  });

  it('accepts any one of several audiences', async () => {
    const token = await mint(endpoint, 'https://vault.azure.net');
    const claims = await endpoint.verifyToken(token, {
      audience: ['https://vault.azure.net/', 'https://vault.azure.net'],
    });
    expect(claims.aud).toBe('https://vault.azure.net');
  });

  it('names the audience check, without quoting the token', async () => {
    const token = await mint(endpoint);
    const error = await failedCheck(endpoint.verifyToken(token, { audience: 'https://vault.azure.net' }));
    expect(error.check).toBe('audience');
    expect(error.message).toContain('https://storage.azure.com');
    expect(error.message.includes(token)).toBe(false);
  });

  it('treats a trailing slash as a different audience, as the token carries the resource exactly', async () => {
    const error = await failedCheck(
      endpoint.verifyToken(await mint(endpoint), { audience: `${storageResource}/` }),
    );
    expect(error.check).toBe('audience');
  });

  it('names the expiry check on the injected clock, and honours a tolerance', async () => {
    const token = await mint(endpoint);
    clock += 3_601_000;
    try {
      const error = await failedCheck(endpoint.verifyToken(token, { audience: storageResource }));
      expect(error.check).toBe('expired');
      await expect(
        endpoint.verifyToken(token, { audience: storageResource, clockToleranceSeconds: 300 }),
      ).resolves.toMatchObject({ aud: storageResource });
    } finally {
      clock -= 3_601_000;
    }
  });

  it('names the not-yet-valid check', async () => {
    const token = await mint(endpoint);
    clock -= 60_000;
    try {
      expect((await failedCheck(endpoint.verifyToken(token, { audience: storageResource }))).check).toBe(
        'not-yet-valid',
      );
    } finally {
      clock += 60_000;
    }
  });

  it('names the signature check for a token from another endpoint', async () => {
    const other = await startIdentityEndpoint({ tenantId: endpoint.tenantId });
    try {
      const error = await failedCheck(endpoint.verifyToken(await mint(other), { audience: storageResource }));
      expect(error.check).toBe('signature');
    } finally {
      await other.stop();
    }
  });

  it('names the issuer check for a token signed with the same key for another tenant', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = await exportJWK(privateKey);
    const [ours, theirs] = await Promise.all([
      startIdentityEndpoint({ signingKey }),
      startIdentityEndpoint({ signingKey, tenantId: '0a1b2c3d-0000-4000-8000-00000000f001' }),
    ]);
    try {
      const error = await failedCheck(ours.verifyToken(await mint(theirs), { audience: storageResource }));
      expect(error.check).toBe('issuer');
    } finally {
      await Promise.all([ours.stop(), theirs.stop()]);
    }
  });

  it('names the malformed check for something that is not a JWT', async () => {
    expect(
      (await failedCheck(endpoint.verifyToken('not-a-token', { audience: storageResource }))).check,
    ).toBe('malformed');
    expect((await failedCheck(endpoint.verifyToken('a.b.c', { audience: storageResource }))).check).toBe(
      'malformed',
    );
  });

  it('refuses a token whose signature was tampered with', async () => {
    const [header, payload, signature] = (await mint(endpoint)).split('.');
    const tampered = `${header}.${payload}.${signature?.startsWith('A') ? 'B' : 'A'}${signature?.slice(1)}`;
    expect((await failedCheck(endpoint.verifyToken(tampered, { audience: storageResource }))).check).toBe(
      'signature',
    );
  });
});
