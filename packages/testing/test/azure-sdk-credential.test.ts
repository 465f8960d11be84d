import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type IdentityEndpoint, startIdentityEndpoint } from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useManagedIdentityEnvironment } from '../src/index.js';

/**
 * Proof that a TokenProvider is a TokenCredential: the real BlobServiceClient takes it unchanged,
 * over real TLS (trusting the test CA), and the server verifies the bearer token it receives.
 */
describe('TokenProvider as an @azure/core-auth TokenCredential', () => {
  let endpoint: IdentityEndpoint;
  let restoreEnvironment: () => void;
  let server: Server;
  let serviceUrl: string;
  const verifiedAudiences: string[] = [];
  const providers: TokenProvider[] = [];

  beforeAll(async () => {
    endpoint = await startIdentityEndpoint();
    restoreEnvironment = useManagedIdentityEnvironment(endpoint, 'app-service');
    server = createServer(
      {
        cert: readFileSync(process.env.KEYLESS_TEST_SERVER_CERT as string),
        key: readFileSync(process.env.KEYLESS_TEST_SERVER_KEY as string),
      },
      (request, response) => {
        const header = request.headers.authorization ?? '';
        const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
        endpoint
          .verifyToken(token, { audience: 'https://storage.azure.com' })
          .then((claims) => {
            verifiedAudiences.push(claims.aud);
            // "Get Container Properties": a HEAD the SDK's exists() sends.
            response.writeHead(200, {
              etag: '"0x1"',
              'last-modified': new Date().toUTCString(),
              'x-ms-version': '2025-11-05',
            });
            response.end();
          })
          .catch(() => {
            response.writeHead(401, { 'x-ms-error-code': 'InvalidAuthenticationInfo' });
            response.end();
          });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serviceUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/devstoreaccount1`;
  });

  afterAll(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    restoreEnvironment?.();
    await endpoint?.stop();
  });

  for (const backend of ['azure-identity', 'msal'] as const) {
    it(`authenticates BlobServiceClient requests with the ${backend} backend, one token request for many calls`, async () => {
      const provider = createTokenProvider({ backend });
      providers.push(provider);
      const client = new BlobServiceClient(serviceUrl, provider);
      const before = endpoint.counters.tokenRequests;
      const verifiedBefore = verifiedAudiences.length;
      for (let call = 0; call < 5; call += 1) {
        expect(await client.getContainerClient('demo').exists()).toBe(true);
      }
      expect(verifiedAudiences.length - verifiedBefore).toBe(5);
      expect(verifiedAudiences.at(-1)).toBe('https://storage.azure.com');
      expect(endpoint.counters.tokenRequests - before).toBe(1);
    });
  }
});
