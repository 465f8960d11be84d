import { readFile } from 'node:fs/promises';
import { DefaultAzureCredential, WorkloadIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkloadIdentityStack, type WorkloadIdentityStack } from './support/workload-identity-stack.js';

const vaultScope = 'https://vault.azure.net/.default';
let stack: WorkloadIdentityStack;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  stack = await startWorkloadIdentityStack();
  // The AKS webhook injects exactly these; nothing else of managed identity is set.
  for (const [name, value] of Object.entries(stack.workload.environment())) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  for (const name of [
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'AZURE_POD_IDENTITY_AUTHORITY_HOST',
    'MSI_ENDPOINT',
  ]) {
    saved.set(name, process.env[name]);
    delete process.env[name];
  }
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await stack?.stop();
});

function vaultClient(credential: ConstructorParameters<typeof SecretClient>[1]): SecretClient {
  return new SecretClient(stack.vault.url, credential, {
    disableChallengeResourceVerification: true,
    tlsOptions: { ca: stack.caCertificate },
  });
}

// Instance discovery asks login.microsoftonline.com whether the authority host is an Entra cloud;
// Azure's guidance for an authority it cannot vouch for (private clouds, Azure Stack, and here a
// local emulator) is `disableInstanceDiscovery: true`, which trusts the configured host as it is
// (https://learn.microsoft.com/javascript/api/@azure/identity/workloadidentitycredentialoptions#@azure-identity-workloadidentitycredentialoptions-disableinstancediscovery).
describe('the unchanged @azure/identity against the local Entra endpoint (AKS workload identity)', () => {
  it('WorkloadIdentityCredential exchanges the projected token and reads a Key Vault secret with the result', async () => {
    stack.vault.setSecret('workload-secret', 'from-aks');
    const credential = new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
    const token = await credential.getToken(vaultScope);
    const claims = await stack.identity.verifyToken(token.token, { audience: 'https://vault.azure.net' });
    const app = stack.identity.userAssigned[0];
    expect(claims.appid).toBe(app?.clientId);
    expect(claims.oid).toBe(app?.objectId);
    expect((await vaultClient(credential).getSecret('workload-secret')).value).toBe('from-aks');
    expect(stack.identity.counters.byResource('https://vault.azure.net')).toBeGreaterThanOrEqual(1);
  });

  it('DefaultAzureCredential picks workload identity from the AKS environment alone', async () => {
    stack.vault.setSecret('default-secret', 'also-from-aks');
    const credential = new DefaultAzureCredential({ disableInstanceDiscovery: true });
    expect((await vaultClient(credential).getSecret('default-secret')).value).toBe('also-from-aks');
  });

  it('refuses an assertion whose subject has no federated credential with AADSTS70021', async () => {
    const credential = new WorkloadIdentityCredential({
      disableInstanceDiscovery: true,
      tokenFilePath: await writeAssertion(
        await stack.workload.serviceAccountToken({ serviceAccount: 'someone-else' }),
      ),
    });
    const error = await credential
      .getToken('https://storage.azure.com/.default')
      .catch((caught: unknown) => caught);
    expect(String((error as Error).message)).toContain('AADSTS70021');
    expect(String((error as Error).message)).toContain(
      "Assertion Subject: 'system:serviceaccount:default:someone-else'",
    );
  });

  it('the projected token file holds a cluster-signed token for the pod service account', async () => {
    const content = await readFile(stack.workload.tokenFilePath, 'utf8');
    const payload = JSON.parse(Buffer.from(content.split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(payload).toMatchObject({
      iss: stack.workload.clusterIssuer,
      sub: 'system:serviceaccount:default:keyless-app',
      aud: ['api://AzureADTokenExchange'],
      'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'keyless-app' } },
    });
    expect(payload.exp - payload.iat).toBe(3600);
  });
});

async function writeAssertion(token: string): Promise<string> {
  const { writeFile, mkdtemp } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const path = join(await mkdtemp(join(tmpdir(), 'keyless-assertion-')), 'token');
  await writeFile(path, token);
  return path;
}
