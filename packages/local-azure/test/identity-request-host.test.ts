import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '../src/index.js';
import { sendRawRequest, statusOf, storageResource } from './support/token-requests.js';

let endpoint: IdentityEndpoint;
let port: number;

beforeAll(async () => {
  endpoint = await startIdentityEndpoint();
  port = Number(new URL(endpoint.url).port);
});

afterAll(async () => {
  await endpoint.stop();
});

interface RawAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON members.
  body: any;
}

type Protocol = 'app-service' | 'imds';

/** A token request over a raw socket, so the test chooses the Host header (fetch may not). */
async function tokenRequest(
  protocol: Protocol,
  host: string,
  extraHeaders: Record<string, string> = {},
  target?: string,
): Promise<RawAnswer> {
  const query = new URLSearchParams({
    'api-version': protocol === 'imds' ? '2018-02-01' : '2019-08-01',
    resource: storageResource,
  });
  const path = protocol === 'imds' ? '/metadata/identity/oauth2/token' : '/msi/token';
  const protocolHeaders: Record<string, string> =
    protocol === 'imds'
      ? { Metadata: 'true' }
      : { 'X-IDENTITY-HEADER': endpoint.appServiceEnvironment().IDENTITY_HEADER ?? '' };
  const headers = { Host: host, ...protocolHeaders, ...extraHeaders, Connection: 'close' };
  const lines = [`GET ${target ?? `${path}?${query}`} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const raw = await sendRawRequest(endpoint.url, `${lines.join('\r\n')}\r\n\r\n`);
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return { status: statusOf(raw), body: body ? JSON.parse(body) : undefined };
}

const rebindingHosts = () => [
  'evil.example',
  `evil.example:${port}`,
  '127.0.0.1.evil.example',
  `127.0.0.1.evil.example:${port}`,
  `localhost.evil.example:${port}`,
  `localhost:${port}@evil.example`,
  `127.0.0.1:${port}.evil.example`,
  '[::1].evil.example',
  '',
];

const loopbackHosts = () => [
  `127.0.0.1:${port}`,
  '127.0.0.1',
  `localhost:${port}`,
  'localhost',
  `LocalHost:${port}`,
  `[::1]:${port}`,
  '[::1]',
];

describe.each<Protocol>(['app-service', 'imds'])(
  'identity endpoint, %s protocol: the Host a request names',
  (protocol) => {
    it('gives no token to a request naming another host (DNS rebinding), and says why', async () => {
      const issuedBefore = endpoint.counters.tokensIssued;
      for (const host of rebindingHosts()) {
        const answer = await tokenRequest(protocol, host);
        expect({ host, status: answer.status }).toEqual({ host, status: 400 });
        expect(answer.body.access_token).toBeUndefined();
        const message = protocol === 'imds' ? answer.body.error_description : answer.body.message;
        expect(message).toContain('DNS rebinding');
        if (protocol === 'imds') expect(answer.body.error).toBe('invalid_request');
        else expect(answer.body.statusCode).toBe(400);
      }
      expect(endpoint.counters.tokensIssued).toBe(issuedBefore);
    });

    it('refuses an absolute-form request target naming another host, whatever the Host header says', async () => {
      const path = protocol === 'imds' ? '/metadata/identity/oauth2/token' : '/msi/token';
      const version = protocol === 'imds' ? '2018-02-01' : '2019-08-01';
      const target = `http://evil.example${path}?api-version=${version}&resource=${encodeURIComponent(storageResource)}`;
      const answer = await tokenRequest(protocol, `127.0.0.1:${port}`, {}, target);
      expect(answer.status).toBe(400);
      expect(answer.body.access_token).toBeUndefined();
    });

    it('still answers a request naming 127.0.0.1, [::1] or localhost, with or without the port', async () => {
      for (const host of loopbackHosts()) {
        const answer = await tokenRequest(protocol, host);
        expect({ host, status: answer.status }).toEqual({ host, status: 200 });
        expect(typeof answer.body.access_token).toBe('string');
      }
    });
  },
);

describe('X-Forwarded-For', () => {
  it('is refused on the IMDS protocol with the 400 and OAuth error shape IMDS uses', async () => {
    const answer = await tokenRequest('imds', `127.0.0.1:${port}`, { 'X-Forwarded-For': '203.0.113.7' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_request',
      error_description: expect.stringContaining('X-Forwarded-For'),
    });
  });

  it('is accepted on the App Service protocol, whose documentation says nothing about it', async () => {
    const answer = await tokenRequest('app-service', `127.0.0.1:${port}`, {
      'X-Forwarded-For': '203.0.113.7',
    });
    expect(answer.status).toBe(200);
    expect(typeof answer.body.access_token).toBe('string');
  });
});

describe('other paths', () => {
  it('refuses a foreign Host on the discovery documents too', async () => {
    const raw = await sendRawRequest(
      endpoint.url,
      'GET /.well-known/jwks.json HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    );
    expect(statusOf(raw)).toBe(400);
    expect(raw).not.toContain('"keys"');
  });
});
