import type { Environment } from '../settings.js';

/**
 * The variables through which Azure hosts tell a process where its identity endpoint is. Without
 * any of them both libraries fall back to IMDS at 169.254.169.254, which only exists on Azure VMs,
 * VM scale sets and AKS nodes.
 */
export const managedIdentityVariables = [
  'IDENTITY_ENDPOINT', // App Service, Functions, Container Apps (with IDENTITY_HEADER)
  'IDENTITY_HEADER',
  'MSI_ENDPOINT', // Cloud Shell and legacy App Service
  'IMDS_ENDPOINT', // Azure Arc
  'IDENTITY_SERVER_THUMBPRINT', // Service Fabric
  'AZURE_POD_IDENTITY_AUTHORITY_HOST', // IMDS at another address (pod identity, local stack)
  'AZURE_FEDERATED_TOKEN_FILE', // AKS workload identity
] as const;

export function describeIdentityEndpoint(environment: Environment): {
  configured: boolean;
  description: string;
} {
  if (environment.IDENTITY_ENDPOINT) {
    return { configured: true, description: `the identity endpoint at ${environment.IDENTITY_ENDPOINT}` };
  }
  if (environment.MSI_ENDPOINT)
    return { configured: true, description: `the MSI endpoint at ${environment.MSI_ENDPOINT}` };
  if (environment.IMDS_ENDPOINT)
    return { configured: true, description: `the Azure Arc endpoint at ${environment.IMDS_ENDPOINT}` };
  if (environment.AZURE_POD_IDENTITY_AUTHORITY_HOST) {
    return { configured: true, description: `IMDS at ${environment.AZURE_POD_IDENTITY_AUTHORITY_HOST}` };
  }
  if (environment.AZURE_FEDERATED_TOKEN_FILE) {
    return { configured: true, description: 'workload identity (AZURE_FEDERATED_TOKEN_FILE)' };
  }
  return { configured: false, description: 'IMDS at http://169.254.169.254 (no identity variables set)' };
}
