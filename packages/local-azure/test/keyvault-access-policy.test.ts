import { ManagedIdentityCredential } from '@azure/identity';
import type { RestError, SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAzure } from '../src/index.js';
import {
  bearer,
  type KeyVaultStack,
  mintToken,
  rawRequest,
  secretClient,
  startKeyVaultStack,
  vaultResource,
} from './support/key-vault-stack.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

// A vault that still uses access policies, with the real SecretClient and ManagedIdentityCredential:
// Azure answers a missing permission with 403 and inner error `AccessDenied`, not `ForbiddenByRbac`.
let stack: KeyVaultStack;
let restoreEnvironment: () => void;
let client: SecretClient;
let objectId: string;

beforeAll(async () => {
  stack = await startKeyVaultStack({ vault: { permissionModel: 'access-policy' } });
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity.appServiceEnvironment());
  const application = stack.identity.userAssigned[0];
  if (!application) throw new Error('the identity endpoint has no user-assigned identity');
  objectId = application.objectId;
  stack.vault.setSecret('seeded', 'seeded-value');
  client = secretClient(stack, new ManagedIdentityCredential({ clientId: application.clientId }));
});

afterAll(async () => {
  await stack?.stop();
  restoreEnvironment?.();
});

async function failureOf(promise: Promise<unknown>): Promise<RestError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as RestError,
  );
}

async function innerErrorOf(path: string): Promise<unknown> {
  const token = await mintToken(stack.identity, vaultResource, {
    client_id: stack.identity.userAssigned[0]?.clientId ?? '',
  });
  const answer = await rawRequest(stack, `${path}?api-version=7.6`, { headers: bearer(token) });
  return { status: answer.status, code: answer.body?.error?.code, inner: answer.body?.error?.innererror };
}

describe('a vault in access-policy mode', () => {
  it('says which model it uses', () => {
    expect(stack.vault.permissionModel).toBe('access-policy');
  });

  it('refuses a caller without an access policy with 403 AccessDenied, as Azure words it', async () => {
    stack.vault.removeAccessPolicy(objectId);
    const failure = await failureOf(client.getSecret('seeded'));
    expect(failure).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(failure.message).toMatch(
      /^The user, group or application 'appid=[^;]+;oid=[^;]+;iss=https:\/\/sts\.windows\.net\/[^']+' does not have secrets get permission on key vault 'keyless-local;location=local'\. For help resolving this issue, please see https:\/\/go\.microsoft\.com\/fwlink\/\?linkid=2125287$/,
    );
    expect(failure.message).toContain(`oid=${objectId}`);
    expect(failure.message).not.toContain('ForbiddenByRbac');
    expect(await innerErrorOf('/secrets/seeded')).toEqual({
      status: 403,
      code: 'Forbidden',
      inner: { code: 'AccessDenied' },
    });
  });

  it('ignores role assignments: a Secrets Officer role grants nothing on an access-policy vault', async () => {
    stack.vault.removeAccessPolicy(objectId);
    stack.vault.assignRole(objectId, 'Key Vault Secrets Officer');
    try {
      await expect(client.getSecret('seeded')).rejects.toMatchObject({ statusCode: 403 });
    } finally {
      stack.vault.removeRole(objectId);
    }
  });

  it('grants exactly the permissions of the policy, naming the missing one', async () => {
    stack.vault.setAccessPolicy(objectId, { secrets: ['get', 'list'] });
    expect((await client.getSecret('seeded')).value).toBe('seeded-value');
    const names: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) names.push(properties.name);
    expect(names).toContain('seeded');
    const setFailure = await failureOf(client.setSecret('seeded', 'overwritten'));
    expect(setFailure).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(setFailure.message).toContain('does not have secrets set permission');
    const deleteFailure = await failureOf(client.beginDeleteSecret('seeded'));
    expect(deleteFailure.message).toContain('does not have secrets delete permission');
    const purgeFailure = await failureOf(client.purgeDeletedSecret('seeded'));
    expect(purgeFailure.message).toContain('does not have secrets purge permission');
  });

  it('replaces a policy when set again (the array form too), and takes effect at once', async () => {
    stack.vault.setAccessPolicy(objectId, ['set']);
    await client.setSecret('written-by-policy', 'value');
    const getFailure = await failureOf(client.getSecret('written-by-policy'));
    expect(getFailure.message).toContain('does not have secrets get permission');
    stack.vault.setAccessPolicy(objectId, { secrets: ['get'] });
    expect((await client.getSecret('written-by-policy')).value).toBe('value');
  });

  it('refuses unknown permissions and missing object ids when a policy is set', () => {
    expect(() => stack.vault.setAccessPolicy(objectId, { secrets: ['read' as 'get'] })).toThrow(
      /unknown secret permission "read"/,
    );
    expect(() => stack.vault.setAccessPolicy('', { secrets: ['get'] })).toThrow(/objectId/);
  });
});

describe('a vault in RBAC mode (the default)', () => {
  it('ignores access policies and still answers ForbiddenByRbac', async () => {
    const rbac = await startKeyVaultStack({
      vault: { accessPolicies: [{ objectId, secrets: ['get', 'list'] }] },
    });
    try {
      expect(rbac.vault.permissionModel).toBe('rbac');
      rbac.vault.setSecret('seeded', 'seeded-value');
      const token = await mintToken(rbac.identity, vaultResource, {
        client_id: rbac.identity.userAssigned[0]?.clientId ?? '',
      });
      const answer = await rawRequest(rbac, '/secrets/seeded?api-version=7.6', { headers: bearer(token) });
      expect(answer.status).toBe(403);
      expect(answer.body.error.innererror).toEqual({ code: 'ForbiddenByRbac' });
    } finally {
      await rbac.stop();
    }
  });

  it('refuses an unknown permission model at start', async () => {
    await expect(startKeyVaultStack({ vault: { permissionModel: 'acl' as 'rbac' } })).rejects.toThrow(
      /permissionModel must be 'rbac' or 'access-policy'/,
    );
  });
});

describe('startLocalAzure({ keyVault: { permissionModel: "access-policy" } })', () => {
  it('grants the application identity get and list through an access policy', async () => {
    const local = await startLocalAzure({
      services: ['keyvault'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
      keyVault: { permissionModel: 'access-policy' },
    });
    try {
      const vault = local.keyVault;
      if (!vault) throw new Error('the stack has no Key Vault');
      expect(vault.permissionModel).toBe('access-policy');
      const token = await mintToken(local.identity, vaultResource, { client_id: local.appIdentity.clientId });
      const headers = { ...bearer(token) };
      const read = await fetch(`${vault.url}secrets/demo-message?api-version=7.6`, { headers });
      expect(read.status).toBe(200);
      const write = await fetch(`${vault.url}secrets/demo-message?api-version=7.6`, {
        method: 'PUT',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ value: 'overwritten' }),
      });
      expect(write.status).toBe(403);
      const body = (await write.json()) as { error: { innererror?: { code?: string } } };
      expect(body.error.innererror?.code).toBe('AccessDenied');
    } finally {
      await local.stop();
    }
  });
});
