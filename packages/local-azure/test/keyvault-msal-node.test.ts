import type { AccessToken, TokenCredential } from '@azure/identity';
import { ManagedIdentityApplication } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyVaultStack, secretClient, startKeyVaultStack } from './support/key-vault-stack.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

// MSAL keeps its managed-identity source and token cache in static state, so it has its own file.
let stack: KeyVaultStack;
let restoreEnvironment: () => void;

beforeAll(async () => {
  stack = await startKeyVaultStack();
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity.appServiceEnvironment());
});

afterAll(async () => {
  await stack.stop();
  restoreEnvironment();
});

/** The smallest TokenCredential over MSAL: scope → resource by dropping `/.default`, as keyless's backend does. */
function msalCredential(application: ManagedIdentityApplication): TokenCredential {
  return {
    async getToken(scopes): Promise<AccessToken> {
      const scope = Array.isArray(scopes) ? (scopes[0] ?? '') : scopes;
      const result = await application.acquireToken({ resource: scope.replace(/\/\.default$/, '') });
      // MSAL types expiresOn as nullable; managed-identity answers always carry one.
      const expiresOn = result.expiresOn ?? new Date(Date.now() + 3_600_000);
      return { token: result.accessToken, expiresOnTimestamp: expiresOn.getTime() };
    },
  };
}

describe('@azure/msal-node tokens with the real SecretClient', () => {
  it('lets an Officer set, read, delete and purge', async () => {
    const identity = stack.identity.userAssigned[0];
    if (!identity) throw new Error('the identity endpoint has no user-assigned identity');
    stack.vault.assignRole(identity.objectId, 'Key Vault Secrets Officer');
    const application = new ManagedIdentityApplication({
      managedIdentityIdParams: { userAssignedClientId: identity.clientId },
    });
    const client = secretClient(stack, msalCredential(application));

    await client.setSecret('msal-secret', 'msal-value');
    expect((await client.getSecret('msal-secret')).value).toBe('msal-value');
    expect(stack.vault.counters.byStatus(401)).toBe(1);
    await (await client.beginDeleteSecret('msal-secret')).pollUntilDone();
    await client.purgeDeletedSecret('msal-secret');
    expect(stack.vault.counters.byOperation('purgeDeletedSecret')).toBe(1);
  });

  it('refuses the system identity until it has a role, then allows reads only', async () => {
    const application = new ManagedIdentityApplication();
    const client = secretClient(stack, msalCredential(application));
    stack.vault.setSecret('for-readers', 'reader-value');

    await expect(client.getSecret('for-readers')).rejects.toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
    });
    stack.vault.assignRole(stack.identity.systemAssigned?.objectId ?? '', 'Key Vault Secrets User');
    expect((await client.getSecret('for-readers')).value).toBe('reader-value');
    await expect(client.setSecret('for-readers', 'not-allowed')).rejects.toMatchObject({ statusCode: 403 });
    stack.vault.removeRole(stack.identity.systemAssigned?.objectId ?? '', 'Key Vault Secrets User');
    await expect(client.getSecret('for-readers')).rejects.toMatchObject({ statusCode: 403 });
  });
});
