import type { IdentityEndpoint, IdentityProtocol } from '@keyless/local-azure';

/** Every variable through which a managed-identity library finds its endpoint or identity. */
const identityVariables = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
  'IDENTITY_SERVER_THUMBPRINT',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'Managed_Identity_Client_ID',
  'KEYLESS_TOKEN_PROVIDER',
  'KEYLESS_MANAGED_IDENTITY_RESOURCE_ID',
  'KEYLESS_MANAGED_IDENTITY_OBJECT_ID',
] as const;

/**
 * Points this process's managed-identity environment at `endpoint` in one protocol, with every
 * other identity variable removed (App Service variables would otherwise win over IMDS). For
 * `workload-identity` (AKS) the endpoint must have been started with `workloadIdentity`; the
 * environment is then exactly what the AKS webhook injects. Returns a function that puts the
 * previous environment back.
 *
 * MSAL detects its source once per process: call this before the first token request, and use one
 * protocol per test file (vitest runs each file in its own process here).
 */
export function useManagedIdentityEnvironment(
  endpoint: IdentityEndpoint,
  protocol: IdentityProtocol,
): () => void {
  const saved = new Map(identityVariables.map((name) => [name, process.env[name]]));
  for (const name of identityVariables) delete process.env[name];
  const variables = environmentFor(endpoint, protocol);
  Object.assign(process.env, variables);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    for (const name of Object.keys(variables)) {
      if (!saved.has(name as (typeof identityVariables)[number])) delete process.env[name];
    }
  };
}

function environmentFor(endpoint: IdentityEndpoint, protocol: IdentityProtocol): Record<string, string> {
  switch (protocol) {
    case 'app-service':
      return endpoint.appServiceEnvironment();
    case 'imds':
      return endpoint.imdsEnvironment();
    case 'workload-identity': {
      if (!endpoint.workloadIdentity) {
        throw new Error('useManagedIdentityEnvironment: start the endpoint with `workloadIdentity` for AKS');
      }
      return endpoint.workloadIdentity.environment();
    }
  }
}
