import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import { type LocalAzureHost, startLocalAzure } from '../src/index.js';

const identityVariables = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_AUTHORITY_HOST',
  'AZURE_TENANT_ID',
  'AZURE_FEDERATED_TOKEN_FILE',
] as const;

function identityVariablesOf(environment: Readonly<Record<string, string>>): string[] {
  return identityVariables.filter((name) => environment[name] !== undefined);
}

describe('startLocalAzure({ host })', () => {
  const expected: Record<LocalAzureHost, string[]> = {
    'app-service': ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'],
    imds: ['AZURE_POD_IDENTITY_AUTHORITY_HOST'],
    aks: ['AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE'],
  };
  for (const host of Object.keys(expected) as LocalAzureHost[]) {
    it(`host ${host}: the environment holds that host's identity variables only, and the app identity`, async () => {
      const stack = await startLocalAzure({
        host,
        services: ['keyvault'],
        stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
      });
      try {
        expect(stack.host).toBe(host);
        expect(identityVariablesOf(stack.env)).toEqual(expected[host]);
        expect(stack.env.AZURE_CLIENT_ID).toBe(stack.appIdentity.clientId);
        expect(stack.identity.workloadIdentity === undefined).toBe(host !== 'aks');
      } finally {
        await stack.stop();
      }
    });
  }

  it('host imds: the unchanged ManagedIdentityCredential reads the seeded secret over IMDS', async () => {
    const stack = await startLocalAzure({
      host: 'imds',
      services: ['keyvault'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    const saved = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    try {
      process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = stack.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      const credential = new ManagedIdentityCredential({ clientId: stack.env.AZURE_CLIENT_ID as string });
      const secrets = new SecretClient(stack.env.KEYLESS_KEYVAULT_URL as string, credential, {
        disableChallengeResourceVerification: true,
      });
      expect((await secrets.getSecret('demo-message')).value?.length).toBeGreaterThan(0);
      expect(stack.identity.counters.byResource('https://vault.azure.net')).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = saved;
      await stack.stop();
    }
  });

  it('refuses an unknown host with the list of valid ones', async () => {
    await expect(startLocalAzure({ host: 'cloud-run' as LocalAzureHost })).rejects.toThrow(
      "host must be one of app-service, imds, aks, got 'cloud-run'",
    );
  });
});
