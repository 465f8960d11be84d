import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '../src/index.js';
import { appServiceHeaders, appServiceUrl, getJson, storageResource } from './support/token-requests.js';

const second = {
  name: 'keyless-worker',
  clientId: '0a1b2c3d-0000-4000-8000-00000000a001',
  objectId: '0a1b2c3d-0000-4000-8000-00000000a002',
};

let endpoint: IdentityEndpoint;

beforeAll(async () => {
  endpoint = await startIdentityEndpoint({ userAssigned: [] });
  endpoint.addUserAssignedIdentity({
    name: 'keyless-app',
    clientId: '0a1b2c3d-0000-4000-8000-00000000b001',
    objectId: '0a1b2c3d-0000-4000-8000-00000000b002',
  });
  endpoint.addUserAssignedIdentity(second);
});

afterAll(async () => {
  await endpoint.stop();
});

function tokenRequest(query: Record<string, string>, path?: string) {
  return getJson(
    appServiceUrl(endpoint, { 'api-version': '2019-08-01', ...query }, path),
    appServiceHeaders(endpoint),
  );
}

describe('App Service protocol: success', () => {
  it('answers a system-assigned request with the documented body', async () => {
    const answer = await tokenRequest({ resource: storageResource });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Object.keys(answer.body).sort()).toEqual(
      ['access_token', 'client_id', 'expires_on', 'not_before', 'resource', 'token_type'].sort(),
    );
    expect(answer.body.token_type).toBe('Bearer');
    expect(answer.body.resource).toBe(storageResource);
    expect(answer.body.client_id).toBe(endpoint.systemAssigned?.clientId);
    expect(answer.body.expires_on).toMatch(/^\d+$/);
  });

  it('signs an RS256 JWT that verifies against the served JWKS with the claims Azure puts in', async () => {
    const answer = await tokenRequest({ resource: storageResource });
    const token: string = answer.body.access_token;
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(header.kid).toBe(endpoint.jwks().keys[0]?.kid);

    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(endpoint.jwksUrl)), {
      issuer: endpoint.issuer,
      audience: storageResource,
    });
    const system = endpoint.systemAssigned;
    expect(endpoint.issuer).toBe(`https://sts.windows.net/${endpoint.tenantId}/`);
    expect(payload).toMatchObject({
      aud: storageResource,
      iss: endpoint.issuer,
      idp: endpoint.issuer,
      oid: system?.objectId,
      sub: system?.objectId,
      appid: system?.clientId,
      tid: endpoint.tenantId,
      appidacr: '2',
      idtyp: 'app',
      ver: '1.0',
    });
    expect(payload.xms_mirid).toBeUndefined();
    expect(typeof payload.uti).toBe('string');
    for (const claim of ['iat', 'nbf', 'exp'] as const) expect(Number.isInteger(payload[claim])).toBe(true);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(86_400);
    expect(answer.body.expires_on).toBe(String(payload.exp));
    expect(answer.body.not_before).toBe(String(payload.nbf));
  });

  it.each([
    ['client_id', () => second.clientId],
    ['principal_id', () => second.objectId],
    ['object_id', () => second.objectId],
    ['mi_res_id', () => endpoint.userAssigned[1]?.resourceId ?? ''],
  ])('selects a user-assigned identity by %s', async (parameter, value) => {
    const answer = await tokenRequest({ resource: storageResource, [parameter]: value() });
    expect(answer.status).toBe(200);
    expect(answer.body.client_id).toBe(second.clientId);
    const claims = await endpoint.verifyToken(answer.body.access_token, { audience: storageResource });
    expect(claims.oid).toBe(second.objectId);
    expect(claims.appid).toBe(second.clientId);
    expect(claims.xms_mirid).toBe(endpoint.userAssigned[1]?.resourceId);
  });

  it('matches identity ids without regard to case, as Azure does', async () => {
    const answer = await tokenRequest({
      resource: storageResource,
      client_id: second.clientId.toUpperCase(),
    });
    expect(answer.status).toBe(200);
    expect(answer.body.client_id).toBe(second.clientId);
  });

  it('puts the requested resource into aud exactly, trailing slash included', async () => {
    const answer = await tokenRequest({ resource: 'https://vault.azure.net/' });
    expect(answer.body.resource).toBe('https://vault.azure.net/');
    const claims = await endpoint.verifyToken(answer.body.access_token, {
      audience: 'https://vault.azure.net/',
    });
    expect(claims.aud).toBe('https://vault.azure.net/');
  });

  it.each(['/msi/token/', '/MSI/token', '//msi//token'])('tolerates the path spelled %s', async (path) => {
    const answer = await tokenRequest({ resource: storageResource }, path);
    expect(answer.status).toBe(200);
  });
});

describe('App Service protocol: errors', () => {
  it('refuses a request without X-IDENTITY-HEADER with 401 and App Service error shape', async () => {
    const answer = await getJson(
      appServiceUrl(endpoint, { 'api-version': '2019-08-01', resource: storageResource }),
    );
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      statusCode: 401,
      message: expect.stringContaining('X-IDENTITY-HEADER'),
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('refuses a wrong X-IDENTITY-HEADER with 401', async () => {
    const answer = await getJson(
      appServiceUrl(endpoint, { 'api-version': '2019-08-01', resource: storageResource }),
      {
        'X-IDENTITY-HEADER': 'not-the-secret',
      },
    );
    expect(answer.status).toBe(401);
  });

  it('refuses a missing api-version with 400', async () => {
    const answer = await getJson(
      appServiceUrl(endpoint, { resource: storageResource }),
      appServiceHeaders(endpoint),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('api-version');
  });

  it('refuses an api-version other than 2019-08-01 with 400', async () => {
    const answer = await tokenRequest({ 'api-version': '2017-09-01', resource: storageResource });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain("'2017-09-01'");
  });

  it('refuses a missing or empty resource with 400', async () => {
    expect((await tokenRequest({})).status).toBe(400);
    const empty = await tokenRequest({ resource: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toContain('resource');
  });

  it('refuses a parameter given twice with 400', async () => {
    const url = `${appServiceUrl(endpoint, { 'api-version': '2019-08-01', resource: storageResource })}&resource=https://vault.azure.net`;
    const answer = await getJson(url, appServiceHeaders(endpoint));
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain("'resource'");
  });

  it('refuses two identity selectors at once with 400', async () => {
    const answer = await tokenRequest({
      resource: storageResource,
      client_id: second.clientId,
      object_id: second.objectId,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('client_id, object_id');
  });

  it('answers an unknown user-assigned identity with App Service’s 400', async () => {
    const answer = await tokenRequest({
      resource: storageResource,
      client_id: '0a1b2c3d-0000-4000-8000-00000000ffff',
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      statusCode: 400,
      message: 'Unable to load the proper Managed Identity.',
    });
  });

  it('answers non-GET methods with 405 and Allow: GET', async () => {
    const answer = await getJson(
      appServiceUrl(endpoint, { 'api-version': '2019-08-01', resource: storageResource }),
      appServiceHeaders(endpoint),
      'POST',
    );
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('GET');
  });
});

describe('App Service protocol without a system-assigned identity', () => {
  it('gives the same 400 as Azure when no selector is sent, even with one user-assigned identity', async () => {
    const withoutSystem = await startIdentityEndpoint({ systemAssigned: false });
    try {
      const answer = await getJson(
        appServiceUrl(withoutSystem, { 'api-version': '2019-08-01', resource: storageResource }),
        appServiceHeaders(withoutSystem),
      );
      expect(answer.status).toBe(400);
      expect(answer.body.message).toBe('Unable to load the proper Managed Identity.');
      expect(withoutSystem.systemAssigned).toBeUndefined();
    } finally {
      await withoutSystem.stop();
    }
  });
});
