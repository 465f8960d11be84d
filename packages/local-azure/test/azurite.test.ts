import { ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AzuriteInstance,
  type IdentityEndpoint,
  startAzurite,
  startIdentityEndpoint,
} from '../src/index.js';
import { testCertificateAuthority } from './support/test-state.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

/**
 * Azurite over HTTPS with `--oauth basic`, used by the real BlobServiceClient with a real
 * ManagedIdentityCredential; the worker trusts the local CA through NODE_EXTRA_CA_CERTS.
 */
const authenticationFailed = { statusCode: 403, code: 'AuthenticationFailed' };

describe('Azurite (Blob) launcher', () => {
  let endpoint: IdentityEndpoint;
  let azurite: AzuriteInstance;
  let restoreEnvironment: () => void;

  beforeAll(async () => {
    const authority = await testCertificateAuthority();
    endpoint = await startIdentityEndpoint();
    restoreEnvironment = useManagedIdentityEnvironment(endpoint.appServiceEnvironment());
    azurite = await startAzurite({
      tls: { certPath: authority.serverCertificatePath, keyPath: authority.serverKeyPath },
    });
  });

  afterAll(async () => {
    await azurite?.stop();
    await endpoint?.stop();
    restoreEnvironment?.();
  });

  it('accepts managed-identity tokens: create a container, upload and download a blob', async () => {
    const client = new BlobServiceClient(azurite.blobEndpoint, new ManagedIdentityCredential());
    const container = client.getContainerClient('keyless-test');
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient('hello.txt');
    await blob.upload('hello from keyless', 'hello from keyless'.length);
    expect((await blob.downloadToBuffer()).toString('utf8')).toBe('hello from keyless');
    expect(endpoint.counters.byResource('https://storage.azure.com')).toBeGreaterThanOrEqual(1);
  });

  // Azurite answers a bad bearer token with 403 AuthenticationFailed (Azure Storage uses 401
  // InvalidAuthenticationInfo) and no token with 403 AuthorizationFailure: asserted as Azurite behaves.
  it('refuses a request without a token and one with a token for another audience', async () => {
    const anonymous = new BlobServiceClient(azurite.blobEndpoint);
    await expect(anonymous.getContainerClient('keyless-test').getProperties()).rejects.toMatchObject({
      statusCode: 403,
      code: 'AuthorizationFailure',
    });
    const wrongAudience = {
      getToken: () => new ManagedIdentityCredential().getToken('https://vault.azure.net/.default'),
    };
    const client = new BlobServiceClient(azurite.blobEndpoint, wrongAudience);
    await expect(client.getContainerClient('keyless-test').getProperties()).rejects.toMatchObject(
      authenticationFailed,
    );
  });

  it('refuses an expired token', async () => {
    const expiring = await startIdentityEndpoint({ now: () => Date.now() - 2 * 86_400_000 });
    const restore = useManagedIdentityEnvironment(expiring.appServiceEnvironment());
    try {
      const stale = await fetch(
        `${expiring.appServiceEnvironment().IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://storage.azure.com`,
        { headers: { 'X-IDENTITY-HEADER': expiring.appServiceEnvironment().IDENTITY_HEADER ?? '' } },
      ).then((response) => response.json() as Promise<{ access_token: string }>);
      const client = new BlobServiceClient(azurite.blobEndpoint, {
        getToken: async () => ({ token: stale.access_token, expiresOnTimestamp: Date.now() + 3_600_000 }),
      });
      await expect(client.getContainerClient('keyless-test').getProperties()).rejects.toMatchObject(
        authenticationFailed,
      );
    } finally {
      restore();
      await expiring.stop();
    }
  });

  it('stops without leaving the port open', async () => {
    const authority = await testCertificateAuthority();
    const another = await startAzurite({
      tls: { certPath: authority.serverCertificatePath, keyPath: authority.serverKeyPath },
    });
    await another.stop();
    await expect(fetch(`${another.blobEndpoint}?comp=list`)).rejects.toThrow();
    await another.stop(); // idempotent
  });
});
