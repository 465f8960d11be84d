import { createTokenProvider } from '@keyless/core';
import { type IdentityEndpoint, startIdentityEndpoint } from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useManagedIdentityEnvironment } from '../src/index.js';

/**
 * Developer mode swaps ManagedIdentityCredential for DefaultAzureCredential. Its chain ends in a
 * managed identity, so against the local endpoint it must still get a verifiable token — and its
 * failures must map to the same typed errors.
 */
describe('developerCredential (DefaultAzureCredential)', () => {
  let endpoint: IdentityEndpoint;
  let restoreEnvironment: () => void;

  beforeAll(async () => {
    endpoint = await startIdentityEndpoint();
    restoreEnvironment = useManagedIdentityEnvironment(endpoint, 'app-service');
  });

  afterAll(async () => {
    restoreEnvironment?.();
    await endpoint?.stop();
  });

  it('gets a token through the DefaultAzureCredential chain, selected by the environment', async () => {
    const provider = createTokenProvider({
      environment: { ...process.env, KEYLESS_DEVELOPER_CREDENTIAL: 'true' },
    });
    try {
      expect(provider.backend).toBe('azure-identity');
      const token = await provider.getToken('https://vault.azure.net/.default');
      const claims = await endpoint.verifyToken(token.token, { audience: 'https://vault.azure.net' });
      expect(claims.oid).toBe(endpoint.systemAssigned?.objectId);
    } finally {
      await provider.close();
    }
  });

  it('passes a user-assigned client id on to the chain', async () => {
    const identity = endpoint.userAssigned[0];
    const provider = createTokenProvider({
      developerCredential: true,
      identity: { clientId: identity?.clientId ?? '' },
    });
    try {
      const token = await provider.getToken('https://storage.azure.com/.default');
      const claims = await endpoint.verifyToken(token.token, { audience: 'https://storage.azure.com' });
      expect(claims.oid).toBe(identity?.objectId);
    } finally {
      await provider.close();
    }
  });
});
