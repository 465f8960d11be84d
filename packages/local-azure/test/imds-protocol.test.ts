import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '../src/index.js';
import { getJson, imdsHeaders, imdsUrl, storageResource } from './support/token-requests.js';

let endpoint: IdentityEndpoint;

beforeAll(async () => {
  endpoint = await startIdentityEndpoint({ tokenLifetimeSeconds: 3_600 });
});

afterAll(async () => {
  await endpoint.stop();
});

function tokenRequest(query: Record<string, string>, path?: string) {
  return getJson(imdsUrl(endpoint, { 'api-version': '2018-02-01', ...query }, path), imdsHeaders);
}

describe('IMDS protocol: success', () => {
  it('answers with every member real IMDS sends, numbers as strings', async () => {
    const answer = await tokenRequest({ resource: storageResource });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      access_token: expect.any(String),
      refresh_token: '',
      client_id: endpoint.systemAssigned?.clientId,
      expires_in: '3600',
      expires_on: expect.stringMatching(/^\d+$/),
      ext_expires_in: '3600',
      not_before: expect.stringMatching(/^\d+$/),
      resource: storageResource,
      token_type: 'Bearer',
    });
    const claims = await endpoint.verifyToken(answer.body.access_token, { audience: storageResource });
    expect(claims.oid).toBe(endpoint.systemAssigned?.objectId);
    expect(String(claims.exp)).toBe(answer.body.expires_on);
    expect(claims.exp - claims.iat).toBe(3_600);
  });

  it.each([
    ['client_id', () => endpoint.userAssigned[0]?.clientId ?? ''],
    ['object_id', () => endpoint.userAssigned[0]?.objectId ?? ''],
    ['msi_res_id', () => endpoint.userAssigned[0]?.resourceId ?? ''],
    ['mi_res_id', () => endpoint.userAssigned[0]?.resourceId ?? ''],
  ])('selects the user-assigned identity by %s', async (parameter, value) => {
    const identity = endpoint.userAssigned[0];
    const answer = await tokenRequest({ resource: storageResource, [parameter]: value() });
    expect(answer.status).toBe(200);
    expect(answer.body.client_id).toBe(identity?.clientId);
    const claims = await endpoint.verifyToken(answer.body.access_token, { audience: storageResource });
    expect(claims).toMatchObject({
      oid: identity?.objectId,
      appid: identity?.clientId,
      xms_mirid: identity?.resourceId,
    });
  });

  it.each(['/metadata/identity/oauth2/token/', '//metadata/identity/oauth2/token'])(
    'serves the token path spelled %s (MSAL adds the trailing slash)',
    async (path) => {
      const answer = await tokenRequest({ resource: storageResource }, path);
      expect(answer.status).toBe(200);
    },
  );

  it('accepts any api-version that is present', async () => {
    const answer = await tokenRequest({ 'api-version': '2019-11-01', resource: storageResource });
    expect(answer.status).toBe(200);
  });

  it('keeps the resource exactly as sent, trailing slash included', async () => {
    const answer = await tokenRequest({ resource: 'https://management.azure.com/' });
    expect(answer.body.resource).toBe('https://management.azure.com/');
    const claims = await endpoint.verifyToken(answer.body.access_token, {
      audience: 'https://management.azure.com/',
    });
    expect(claims.aud).toBe('https://management.azure.com/');
  });

  it('decodes percent-encoded query keys', async () => {
    const url = `${endpoint.url}/metadata/identity/oauth2/token?api%2Dversion=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com`;
    const answer = await getJson(url, imdsHeaders);
    expect(answer.status).toBe(200);
    expect(answer.body.resource).toBe(storageResource);
  });
});

describe('IMDS protocol: errors', () => {
  it('answers a request without the Metadata header (the @azure/identity probe) with IMDS’s 400', async () => {
    const answer = await getJson(`${endpoint.url}/metadata/identity/oauth2/token`, {
      Accept: 'application/json',
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_request',
      error_description: 'Required metadata header not specified',
    });
  });

  it('requires Metadata: true exactly', async () => {
    const answer = await getJson(
      imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
      {
        Metadata: 'false',
      },
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error_description).toBe('Required metadata header not specified');
  });

  it('refuses a missing api-version the way IMDS does', async () => {
    const answer = await getJson(imdsUrl(endpoint, { resource: storageResource }), imdsHeaders);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/^Bad request\. api-version was not specified in the request\./);
    expect(answer.body['newest-versions']).toContain('2018-02-01');
  });

  it('refuses a missing resource with 400', async () => {
    const answer = await tokenRequest({});
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_request',
      error_description: 'Required audience parameter not specified',
    });
  });

  it('refuses an unknown identity with 400 Identity not found', async () => {
    const answer = await tokenRequest({
      resource: storageResource,
      client_id: '0a1b2c3d-0000-4000-8000-00000000ffff',
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'Identity not found' });
  });

  it('refuses two selectors and repeated parameters with 400 invalid_request', async () => {
    const identity = endpoint.userAssigned[0];
    const both = await tokenRequest({
      resource: storageResource,
      client_id: identity?.clientId ?? '',
      object_id: identity?.objectId ?? '',
    });
    expect(both.status).toBe(400);
    expect(both.body.error).toBe('invalid_request');
    const repeated = await getJson(
      `${imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource })}&api-version=2018-02-01`,
      imdsHeaders,
    );
    expect(repeated.status).toBe(400);
    expect(repeated.body.error).toBe('invalid_request');
  });

  it('answers non-GET methods with 405', async () => {
    const answer = await getJson(
      imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
      imdsHeaders,
      'DELETE',
    );
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('GET');
  });
});

describe('IMDS protocol without a system-assigned identity', () => {
  const request = (target: IdentityEndpoint) =>
    getJson(imdsUrl(target, { 'api-version': '2018-02-01', resource: storageResource }), imdsHeaders);

  it('answers Identity not found when there is no identity at all', async () => {
    const bare = await startIdentityEndpoint({ systemAssigned: false, userAssigned: [] });
    try {
      const answer = await request(bare);
      expect(answer.status).toBe(400);
      expect(answer.body.error_description).toBe('Identity not found');
    } finally {
      await bare.stop();
    }
  });

  it('uses the only user-assigned identity, as IMDS on a VM does', async () => {
    const single = await startIdentityEndpoint({ systemAssigned: false });
    try {
      const answer = await request(single);
      expect(answer.status).toBe(200);
      expect(answer.body.client_id).toBe(single.userAssigned[0]?.clientId);
    } finally {
      await single.stop();
    }
  });

  it('asks for a selector when several user-assigned identities exist', async () => {
    const several = await startIdentityEndpoint({ systemAssigned: false });
    several.addUserAssignedIdentity({
      name: 'keyless-worker',
      clientId: '0a1b2c3d-0000-4000-8000-00000000c001',
      objectId: '0a1b2c3d-0000-4000-8000-00000000c002',
    });
    try {
      const answer = await request(several);
      expect(answer.status).toBe(400);
      expect(answer.body.error_description).toMatch(/^Multiple user assigned identities exist/);
    } finally {
      await several.stop();
    }
  });
});
