import { readFile } from 'node:fs/promises';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkloadIdentityStack, type WorkloadIdentityStack } from './support/workload-identity-stack.js';

let stack: WorkloadIdentityStack;

beforeAll(async () => {
  stack = await startWorkloadIdentityStack();
});

afterAll(async () => {
  await stack?.stop();
});

/**
 * MSAL's workload-identity recipe: a confidential client whose client assertion is the projected
 * token file (https://learn.microsoft.com/azure/aks/workload-identity-overview#microsoft-authentication-library-msal),
 * with the authority host in `knownAuthorities` — MSAL's setting for an authority it should trust
 * without asking login.microsoftonline.com (instance discovery).
 */
function application(
  clientId: string,
  tokenFile = stack.workload.tokenFilePath,
): ConfidentialClientApplication {
  const authorityHost = new URL(stack.workload.authorityHost);
  return new ConfidentialClientApplication({
    auth: {
      clientId,
      authority: `${stack.workload.authorityHost}/${stack.identity.tenantId}`,
      knownAuthorities: [authorityHost.host],
      clientAssertion: async () => (await readFile(tokenFile, 'utf8')).trim(),
    },
  });
}

describe('the unchanged @azure/msal-node against the local Entra endpoint', () => {
  it('a ConfidentialClientApplication with the token file as client assertion gets the identity’s token', async () => {
    const app = stack.identity.userAssigned[0];
    const result = await application(app?.clientId ?? '').acquireTokenByClientCredential({
      scopes: ['https://vault.azure.net/.default'],
    });
    const claims = await stack.identity.verifyToken(result?.accessToken ?? '', {
      audience: 'https://vault.azure.net',
    });
    expect(claims.oid).toBe(app?.objectId);
    expect(result?.tokenType).toBe('Bearer');
  });

  it('an unknown client id fails with AADSTS700016 in MSAL’s error', async () => {
    const error = await application('99999999-9999-4999-8999-999999999999')
      .acquireTokenByClientCredential({ scopes: ['https://vault.azure.net/.default'] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ errorCode: 'unauthorized_client' });
    expect((error as Error).message).toContain('AADSTS700016');
  });
});
