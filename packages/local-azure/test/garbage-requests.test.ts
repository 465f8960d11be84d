import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '../src/index.js';
import {
  getJson,
  imdsHeaders,
  imdsUrl,
  sendRawRequest,
  statusOf,
  storageResource,
} from './support/token-requests.js';

let endpoint: IdentityEndpoint;

beforeAll(async () => {
  endpoint = await startIdentityEndpoint();
});

afterAll(async () => {
  await endpoint.stop();
});

async function expectStillServing(): Promise<void> {
  const answer = await getJson(
    imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
    imdsHeaders,
  );
  expect(answer.status).toBe(200);
}

describe('garbage does not kill the endpoint', () => {
  it('answers an unparsable request line with 400 JSON and closes', async () => {
    const raw = await sendRawRequest(endpoint.url, 'THIS IS NOT HTTP\r\n\r\n');
    expect(statusOf(raw)).toBe(400);
    expect(raw).toContain('"error":"invalid_request"');
    expect(raw.toLowerCase()).toContain('connection: close');
    await expectStillServing();
  });

  it('answers oversized headers with 431', async () => {
    const raw = await sendRawRequest(
      endpoint.url,
      `GET /metadata/identity/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata: true\r\nX-Filler: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );
    expect(statusOf(raw)).toBe(431);
    await expectStillServing();
  });

  it('answers bad percent-encoding with a JSON error, not a crash', async () => {
    const raw = await sendRawRequest(
      endpoint.url,
      'GET /metadata/identity/oauth2/token?api-version=%zz&resource=%E0%A4%A&client_id=%%% HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata: true\r\nConnection: close\r\n\r\n',
    );
    expect(statusOf(raw)).toBe(400);
    expect(raw).toContain('Identity not found');
    await expectStillServing();
  });

  it('handles an absolute-form request target', async () => {
    const raw = await sendRawRequest(
      endpoint.url,
      `GET ${endpoint.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata: true\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(raw)).toBe(200);
  });

  it('survives a client that disconnects mid-request', async () => {
    endpoint.faults.setLatency(50);
    try {
      const { hostname, port } = new URL(endpoint.url);
      const { connect } = await import('node:net');
      await new Promise<void>((resolve) => {
        const socket = connect({ host: hostname, port: Number(port) }, () => {
          socket.write(
            'GET /msi/token?api-version=2019-08-01&resource=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
          );
          socket.destroy();
          resolve();
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 80));
    } finally {
      endpoint.faults.clear();
    }
    await expectStillServing();
  });

  it('answers unknown paths with 404 JSON, not counted as token requests', async () => {
    const before = endpoint.counters.tokenRequests;
    const answer = await getJson(`${endpoint.url}/metadata/instance?api-version=2021-02-01`, imdsHeaders);
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe('not_found');
    expect(endpoint.counters.tokenRequests).toBe(before);
  });
});

describe('key documents', () => {
  it('serves the JWKS at jwksUrl and at Entra’s tenant path', async () => {
    const served = await getJson(endpoint.jwksUrl);
    expect(served.status).toBe(200);
    expect(served.body).toEqual(endpoint.jwks());
    const [key] = endpoint.jwks().keys;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    expect(key).not.toHaveProperty('d');
    const tenantScoped = await getJson(`${endpoint.url}/${endpoint.tenantId}/discovery/v2.0/keys`);
    expect(tenantScoped.body).toEqual(endpoint.jwks());
  });

  it('serves an OpenID configuration naming the v1 issuer and the JWKS', async () => {
    const configuration = await getJson(`${endpoint.url}/.well-known/openid-configuration`);
    expect(configuration.body).toMatchObject({ issuer: endpoint.issuer, jwks_uri: endpoint.jwksUrl });
  });
});
