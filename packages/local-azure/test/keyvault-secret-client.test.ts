import { inspect } from 'node:util';
import { ManagedIdentityCredential } from '@azure/identity';
import { type RestError, SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyVaultStack, secretClient, startKeyVaultStack } from './support/key-vault-stack.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

// @azure/identity's ManagedIdentityCredential over the App Service protocol, with the real SecretClient.
let stack: KeyVaultStack;
let restoreEnvironment: () => void;
let client: SecretClient;

beforeAll(async () => {
  stack = await startKeyVaultStack();
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity.appServiceEnvironment());
  const application = stack.identity.userAssigned[0];
  if (!application) throw new Error('the identity endpoint has no user-assigned identity');
  stack.vault.assignRole(application.objectId, 'Key Vault Secrets Officer');
  client = secretClient(stack, new ManagedIdentityCredential({ clientId: application.clientId }));
});

afterAll(async () => {
  await stack.stop();
  restoreEnvironment();
});

async function rejectionOf(promise: Promise<unknown>): Promise<RestError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as RestError,
  );
}

async function collect<Item>(iterable: AsyncIterable<Item>): Promise<Item[]> {
  const items: Item[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('the challenge', () => {
  it('answers the first, token-less request with 401 and the challenge, then serves the retried one', async () => {
    stack.vault.counters.reset();
    const set = await client.setSecret('challenge-first', 'challenge-value');
    expect(set.value).toBe('challenge-value');
    expect(stack.vault.counters.requests).toBe(2);
    expect(stack.vault.counters.byStatus(401)).toBe(1);
    expect(stack.vault.counters.byStatus(200)).toBe(1);
    expect(stack.vault.counters.byOperation('setSecret')).toBe(2);
    // The client keeps the challenge: the next call goes straight through.
    await client.getSecret('challenge-first');
    expect(stack.vault.counters.byStatus(401)).toBe(1);
  });

  it('is refused by the SDK for a loopback vault unless the challenge-domain check is off', async () => {
    const strictClient = new SecretClient(
      stack.vault.url,
      new ManagedIdentityCredential({ clientId: stack.identity.userAssigned[0]?.clientId ?? '' }),
      { tlsOptions: { ca: stack.authority.caCertificate } },
    );
    await expect(strictClient.getSecret('challenge-first')).rejects.toThrow(
      /challenge resource 'vault\.azure\.net' does not match the requested domain/,
    );
  });
});

describe('secrets and versions', () => {
  it('sets, gets latest and by version, with Azure’s ids and attributes', async () => {
    const first = await client.setSecret('app-password', 'first-value', {
      contentType: 'text/plain',
      tags: { owner: 'keyless' },
    });
    const second = await client.setSecret('app-password', 'second-value');
    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(second.properties.id).toBe(`${stack.vault.url}secrets/app-password/${second.properties.version}`);
    expect(second.properties.vaultUrl).toBe(stack.vault.url.slice(0, -1));
    expect(second.properties.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(second.properties.recoverableDays).toBe(90);
    expect(second.properties.enabled).toBe(true);
    expect(second.properties.createdOn).toBeInstanceOf(Date);

    const latest = await client.getSecret('app-password');
    expect(latest.value).toBe('second-value');
    const older = await client.getSecret('app-password', { version: first.properties.version ?? '' });
    expect(older.value).toBe('first-value');
    expect(older.properties.contentType).toBe('text/plain');
    expect(older.properties.tags).toEqual({ owner: 'keyless' });
    // Names are case-insensitive, as in Azure.
    expect((await client.getSecret('APP-PASSWORD')).value).toBe('second-value');
  });

  it('updates properties of one version without touching its value', async () => {
    const created = await client.setSecret('updatable', 'keep-me');
    const version = created.properties.version ?? '';
    const updated = await client.updateSecretProperties('updatable', version, {
      contentType: 'application/json',
      tags: { rotated: 'no' },
      enabled: false,
    });
    expect(updated.contentType).toBe('application/json');
    expect(updated.tags).toEqual({ rotated: 'no' });
    expect(updated.enabled).toBe(false);
    const disabled = await rejectionOf(client.getSecret('updatable'));
    expect(disabled.statusCode).toBe(403);
    expect(disabled.code).toBe('Forbidden');
    await client.updateSecretProperties('updatable', version, { enabled: true });
    expect((await client.getSecret('updatable')).value).toBe('keep-me');
  });

  it('lists secrets without values across pages of 25, following absolute nextLinks', async () => {
    for (let index = 0; index < 30; index += 1) {
      stack.vault.setSecret(`paged-${String(index).padStart(2, '0')}`, `paged-value-${index}`);
    }
    stack.vault.counters.reset();
    const all = await collect(client.listPropertiesOfSecrets());
    const paged = all.filter((secret) => secret.name.startsWith('paged-'));
    expect(paged.map((secret) => secret.name)).toEqual(
      Array.from({ length: 30 }, (_, index) => `paged-${String(index).padStart(2, '0')}`),
    );
    expect(paged.every((secret) => !('value' in secret) && secret.version === undefined)).toBe(true);
    expect(stack.vault.counters.byOperation('getSecrets')).toBe(Math.ceil(all.length / 25));

    const pageSizes: number[] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 7 })) {
      pageSizes.push(page.length);
    }
    expect(pageSizes.slice(0, -1).every((size) => size === 7)).toBe(true);
    expect(pageSizes.reduce((sum, size) => sum + size, 0)).toBe(all.length);
  });

  it('lists every version of a secret across pages', async () => {
    const versions = new Set<string>();
    for (let index = 0; index < 27; index += 1) {
      versions.add(stack.vault.setSecret('many-versions', `version-value-${index}`).version);
    }
    stack.vault.counters.reset();
    const listed = await collect(client.listPropertiesOfSecretVersions('many-versions'));
    expect(new Set(listed.map((properties) => properties.version))).toEqual(versions);
    expect(stack.vault.counters.byOperation('getSecretVersions')).toBe(2);
  });
});

describe('soft delete', () => {
  it('deletes, shows the deleted secret, and recovers it through the SDK pollers', async () => {
    await client.setSecret('recoverable', 'bring-me-back');
    const deletePoller = await client.beginDeleteSecret('recoverable');
    const deleted = await deletePoller.pollUntilDone();
    expect(deleted.recoveryId).toBe(`${stack.vault.url}deletedsecrets/recoverable`);
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    expect(deleted.scheduledPurgeDate?.getTime()).toBe(
      (deleted.deletedOn?.getTime() ?? 0) + 90 * 24 * 60 * 60 * 1000,
    );
    expect(deleted.value).toBeUndefined();

    expect((await client.getDeletedSecret('recoverable')).name).toBe('recoverable');
    const listedDeleted = await collect(client.listDeletedSecrets());
    expect(listedDeleted.map((secret) => secret.name)).toContain('recoverable');
    expect((await rejectionOf(client.getSecret('recoverable'))).code).toBe('SecretNotFound');

    const conflict = await rejectionOf(client.setSecret('recoverable', 'reuse-the-name'));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.code).toBe('Conflict');
    expect(conflict.message).toContain('deleted but recoverable state');

    const recoverPoller = await client.beginRecoverDeletedSecret('recoverable');
    const recovered = await recoverPoller.pollUntilDone();
    expect(recovered.name).toBe('recoverable');
    expect((await client.getSecret('recoverable')).value).toBe('bring-me-back');
  });

  it('purges a deleted secret so the name can be reused', async () => {
    await client.setSecret('purgeable', 'gone-for-good');
    await (await client.beginDeleteSecret('purgeable')).pollUntilDone();
    await client.purgeDeletedSecret('purgeable');
    expect((await rejectionOf(client.getDeletedSecret('purgeable'))).statusCode).toBe(404);
    const reused = await client.setSecret('purgeable', 'fresh-start');
    expect(reused.value).toBe('fresh-start');
    const versions = await collect(client.listPropertiesOfSecretVersions('purgeable'));
    expect(versions).toHaveLength(1);
  });

  it('answers 404 SecretNotFound with Azure’s messages', async () => {
    const missing = await rejectionOf(client.getSecret('never-set'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('SecretNotFound');
    expect(missing.message).toMatch(/^A secret with \(name\/id\) never-set was not found in this key vault/);
    const wrongVersion = await rejectionOf(
      client.getSecret('app-password', { version: '0123456789abcdef0123456789abcdef' }),
    );
    expect(wrongVersion.code).toBe('SecretNotFound');
    expect(wrongVersion.message).toContain('app-password/0123456789abcdef0123456789abcdef');
    const deletedMissing = await rejectionOf(client.getDeletedSecret('never-set'));
    expect(deletedMissing.message).toBe('Deleted Secret not found: never-set');
    await expect(client.purgeDeletedSecret('never-set')).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.beginDeleteSecret('never-set')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('refuses an invalid secret name with 400 BadParameter', async () => {
    const invalid = await rejectionOf(client.setSecret('not_valid', 'x'));
    expect(invalid.statusCode).toBe(400);
    expect(invalid.code).toBe('BadParameter');
  });
});

describe('faults', () => {
  it('injects 503 and 429 with Retry-After, which the SDK retries', async () => {
    stack.vault.faults.failWith(503, { count: 1 });
    expect((await client.getSecret('app-password')).value).toBe('second-value');
    stack.vault.faults.failWith(429, { count: 1, retryAfterSeconds: 0 });
    expect((await client.getSecret('app-password')).value).toBe('second-value');
    expect(stack.vault.counters.byStatus(503)).toBe(1);
    expect(stack.vault.counters.byStatus(429)).toBe(1);
    stack.vault.faults.clear();
  });
});

describe('no secret prints', () => {
  it('keeps values out of util.inspect and JSON of the emulator', () => {
    const printed = `${inspect(stack.vault, { depth: 10, showHidden: true })}${JSON.stringify(stack.vault)}`;
    expect(stack.vault.secretValues()).toContain('second-value');
    for (const value of stack.vault.secretValues()) expect(printed).not.toContain(value);
  });
});
