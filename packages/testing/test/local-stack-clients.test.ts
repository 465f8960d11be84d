import { SecretClient } from '@azure/keyvault-secrets';
import { ManagedIdentityApplication } from '@azure/msal-node';
import { BlobServiceClient } from '@azure/storage-blob';
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useManagedIdentityEnvironment } from '../src/index.js';

/**
 * The real Storage and Key Vault clients against the local stack with keyless providers (both
 * backends) and with raw MSAL tokens: what the stack's own tests do with ManagedIdentityCredential.
 */
describe('Azure SDK clients on the local stack', () => {
  let stack: LocalAzure;
  let restoreEnvironment: () => void;
  const providers: TokenProvider[] = [];

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['keyvault', 'blob'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  });

  afterAll(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    restoreEnvironment?.();
    await stack?.stop();
  });

  const secretClient = (credential: ConstructorParameters<typeof SecretClient>[1]) =>
    new SecretClient(stack.env.KEYLESS_KEYVAULT_URL as string, credential, {
      disableChallengeResourceVerification: true, // a loopback vault URL
    });

  for (const backend of ['azure-identity', 'msal'] as const) {
    it(`reads the seeded blob and secret with a keyless ${backend} provider`, async () => {
      const provider = createTokenProvider({ backend, identity: { clientId: stack.appIdentity.clientId } });
      providers.push(provider);
      const blob = new BlobServiceClient(stack.env.KEYLESS_BLOB_ACCOUNT_URL as string, provider)
        .getContainerClient('keyless-demo')
        .getBlobClient('hello.txt');
      expect((await blob.downloadToBuffer()).toString('utf8')).toContain('keyless local stack');
      const secret = await secretClient(provider).getSecret('demo-message');
      expect(secret.value).toContain('keyless-canary-secret');
    });
  }

  it('refuses the system-assigned identity, which was granted nothing, with Key Vault’s 403', async () => {
    const provider = createTokenProvider({ backend: 'msal', identity: 'system-assigned' });
    providers.push(provider);
    await expect(secretClient(provider).getSecret('demo-message')).rejects.toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
    });
  });

  it('works with raw MSAL tokens too', async () => {
    const application = new ManagedIdentityApplication({
      managedIdentityIdParams: { userAssignedClientId: stack.appIdentity.clientId },
    });
    const credential = {
      async getToken(scopes: string | string[]) {
        const scope = Array.isArray(scopes) ? (scopes[0] as string) : scopes;
        const result = await application.acquireToken({ resource: scope.replace('/.default', '') });
        return { token: result.accessToken, expiresOnTimestamp: result.expiresOn?.getTime() ?? 0 };
      },
    };
    const blob = new BlobServiceClient(stack.env.KEYLESS_BLOB_ACCOUNT_URL as string, credential)
      .getContainerClient('keyless-demo')
      .getBlobClient('hello.txt');
    expect((await blob.downloadToBuffer()).toString('utf8')).toContain('keyless local stack');
    expect((await secretClient(credential).getSecret('demo-message')).properties.name).toBe('demo-message');
  });
});
