import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederatedTokenFile } from '../src/backends/federated-token-file.js';
import { resolveWorkloadIdentity } from '../src/backends/workload-identity-settings.js';
import { CredentialUnavailableError, createTokenProvider } from '../src/index.js';
import { configurationError } from './support/configuration-error.js';

const clientId = '11111111-2222-3333-4444-555555555555';
const tenantId = '66666666-7777-4888-8999-000000000000';
const aks = {
  AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
  AZURE_TENANT_ID: tenantId,
  AZURE_CLIENT_ID: clientId,
};

describe('AKS workload identity configuration', () => {
  for (const backend of ['azure-identity', 'msal'] as const) {
    it(`${backend}: builds a provider from the webhook's variables alone`, async () => {
      const provider = createTokenProvider({ backend, environment: aks });
      expect(provider.backend).toBe(backend);
      await provider.close();
    });

    it(`${backend}: a missing AZURE_TENANT_ID fails at construction, naming the variable`, () => {
      const { AZURE_TENANT_ID: _, ...withoutTenant } = aks;
      const error = configurationError(() => createTokenProvider({ backend, environment: withoutTenant }));
      expect(error.message).toContain('AZURE_TENANT_ID');
      expect(error.message).toContain('AZURE_FEDERATED_TOKEN_FILE');
    });

    it(`${backend}: a missing client id fails at construction, naming AZURE_CLIENT_ID`, () => {
      const { AZURE_CLIENT_ID: _, ...withoutClient } = aks;
      const error = configurationError(() => createTokenProvider({ backend, environment: withoutClient }));
      expect(error.message).toContain('AZURE_CLIENT_ID');
    });
  }

  it('refuses an identity named by resource id: Entra takes a client id', () => {
    const error = configurationError(() =>
      createTokenProvider({
        environment: aks,
        identity: { objectId: clientId },
      }),
    );
    expect(error.message).toContain('client id');
  });

  it('refuses an http authority host', () => {
    const error = configurationError(() =>
      createTokenProvider({ environment: { ...aks, AZURE_AUTHORITY_HOST: 'http://login.example' } }),
    );
    expect(error.message).toContain('AZURE_AUTHORITY_HOST');
  });

  it('skips instance discovery for an authority host on this machine only', () => {
    const identity = { kind: 'user-assigned', by: 'client-id', value: clientId } as const;
    expect(
      resolveWorkloadIdentity({ ...aks, AZURE_AUTHORITY_HOST: 'https://127.0.0.1:4443/' }, identity),
    ).toMatchObject({
      authorityHost: 'https://127.0.0.1:4443',
      disableInstanceDiscovery: true,
    });
    expect(resolveWorkloadIdentity(aks, identity)).toMatchObject({
      authorityHost: 'https://login.microsoftonline.com',
      disableInstanceDiscovery: false,
    });
    expect(
      resolveWorkloadIdentity({ ...aks, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' }, identity)
        ?.disableInstanceDiscovery,
    ).toBe(false);
  });
});

describe('the federated token file', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keyless-token-file-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('is read again after the kubelet replaces it, and never shows its content', async () => {
    const path = join(folder, 'token');
    await writeFile(path, 'first.assertion.value\n');
    const file = new FederatedTokenFile(path);
    expect(await file.read()).toBe('first.assertion.value');
    expect(await file.read()).toBe('first.assertion.value');
    // As the kubelet does it: a new file renamed over the old one.
    await writeFile(`${path}.new`, 'second.assertion.value');
    await rename(`${path}.new`, path);
    expect(await file.read()).toBe('second.assertion.value');
    const printed = `${inspect(file)} ${JSON.stringify(file)}`;
    expect(printed).toContain(path);
    expect(printed).not.toContain('assertion.value');
  });

  it('a missing or empty file is credential-unavailable naming AZURE_FEDERATED_TOKEN_FILE and what to do', async () => {
    const missing = await new FederatedTokenFile(join(folder, 'absent'))
      .read()
      .catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(CredentialUnavailableError);
    expect((missing as Error).message).toContain('AZURE_FEDERATED_TOKEN_FILE');
    expect((missing as Error).message).toContain('ENOENT');
    const emptyPath = join(folder, 'empty');
    await writeFile(emptyPath, '  \n');
    const empty = await new FederatedTokenFile(emptyPath).read().catch((caught: unknown) => caught);
    expect(empty).toBeInstanceOf(CredentialUnavailableError);
    expect((empty as Error).message).toContain('is empty');
  });
});
