import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type IdentityEndpoint,
  type KeyVaultEmulator,
  startIdentityEndpoint,
  startKeyVaultEmulator,
  type WorkloadIdentityEmulation,
  type WorkloadIdentityOptions,
} from '../../src/index.js';
import { testCertificateAuthority } from './test-state.js';

export interface WorkloadIdentityStack {
  identity: IdentityEndpoint;
  workload: WorkloadIdentityEmulation;
  vault: KeyVaultEmulator;
  caCertificate: string;
  stop(): Promise<void>;
}

/**
 * An identity endpoint with the AKS workload-identity emulation (its Entra endpoint serves the CA
 * this worker already trusts through NODE_EXTRA_CA_CERTS, as MSAL's own HTTP client needs), and a
 * Key Vault emulator that trusts it, with the app identity a Secrets User.
 */
export async function startWorkloadIdentityStack(
  options: Partial<Omit<WorkloadIdentityOptions, 'tls' | 'tokenFilePath'>> = {},
): Promise<WorkloadIdentityStack> {
  const folder = await mkdtemp(join(tmpdir(), 'keyless-workload-'));
  const authority = await testCertificateAuthority();
  const tls = { cert: authority.serverCertificate, key: authority.serverKey };
  const identity = await startIdentityEndpoint({
    workloadIdentity: { ...options, tls, tokenFilePath: join(folder, 'azure-identity-token') },
  });
  const app = identity.userAssigned[0];
  const vault = await startKeyVaultEmulator({
    identity,
    tls,
    roleAssignments: app ? [{ principalId: app.objectId, role: 'Key Vault Secrets User' }] : [],
  });
  return {
    identity,
    workload: identity.workloadIdentity as WorkloadIdentityEmulation,
    vault,
    caCertificate: authority.caCertificate,
    async stop() {
      await Promise.all([vault.stop(), identity.stop()]);
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** The form body a workload-identity client posts to the token endpoint. */
export function clientAssertionForm(fields: {
  clientId: string;
  assertion: string;
  scope?: string;
  grantType?: string;
}): URLSearchParams {
  return new URLSearchParams({
    client_id: fields.clientId,
    scope: fields.scope ?? 'https://vault.azure.net/.default',
    grant_type: fields.grantType ?? 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: fields.assertion,
  });
}
