import { ConfigurationError } from '../errors.js';
import type { ManagedIdentitySelector } from '../identity.js';
import type { Environment } from '../settings.js';

/** Entra's public-cloud authority host: what the libraries use when AZURE_AUTHORITY_HOST is unset. */
export const publicCloudAuthorityHost = 'https://login.microsoftonline.com';

/** What AKS workload identity needs, from the variables the workload-identity webhook injects. */
export interface WorkloadIdentitySettings {
  tokenFilePath: string;
  tenantId: string;
  clientId: string;
  /** No trailing slash. */
  authorityHost: string;
  /**
   * Skip MSAL's instance discovery (a request to login.microsoftonline.com asking whether the
   * authority is an Entra cloud): Azure's option for an authority that service cannot vouch for,
   * "private clouds or Azure Stack"
   * (https://learn.microsoft.com/javascript/api/@azure/identity/workloadidentitycredentialoptions#@azure-identity-workloadidentitycredentialoptions-disableinstancediscovery).
   * Only for an authority host on this machine (the local stack's Entra endpoint): a real
   * authority host keeps discovery and validation.
   */
  disableInstanceDiscovery: boolean;
}

/**
 * AKS workload identity is in use when AZURE_FEDERATED_TOKEN_FILE is set
 * (https://learn.microsoft.com/azure/aks/workload-identity-overview). Checked at construction:
 * a missing tenant or client id, or an identity chosen by resource or object id (Entra's token
 * endpoint takes a client id only), is a ConfigurationError naming the variable.
 */
export function resolveWorkloadIdentity(
  environment: Environment,
  identity: ManagedIdentitySelector,
): WorkloadIdentitySettings | undefined {
  const tokenFilePath = environment.AZURE_FEDERATED_TOKEN_FILE;
  if (!tokenFilePath) return undefined;
  const tenantId = environment.AZURE_TENANT_ID;
  if (!tenantId) {
    throw new ConfigurationError(
      'AKS workload identity (AZURE_FEDERATED_TOKEN_FILE is set) needs AZURE_TENANT_ID, which is not set',
      {
        hint: 'the workload-identity webhook injects it for pods labelled azure.workload.identity/use: "true"; set it to the tenant of the identity',
      },
    );
  }
  if (identity.kind !== 'user-assigned' || identity.by !== 'client-id') {
    throw new ConfigurationError(
      identity.kind === 'system-assigned'
        ? 'AKS workload identity (AZURE_FEDERATED_TOKEN_FILE is set) needs the client id of its identity: AZURE_CLIENT_ID is not set'
        : `AKS workload identity exchanges its token for an identity named by client id, not by ${identity.by}`,
      {
        hint: 'set AZURE_CLIENT_ID (the webhook copies it from the service account annotation azure.workload.identity/client-id) or pass option `identity: { clientId }`',
      },
    );
  }
  const authorityHost = (environment.AZURE_AUTHORITY_HOST || publicCloudAuthorityHost).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(authorityHost);
  } catch {
    throw new ConfigurationError(`AZURE_AUTHORITY_HOST is not a URL: '${authorityHost}'`, {
      hint: 'e.g. https://login.microsoftonline.com',
    });
  }
  if (url.protocol !== 'https:') {
    throw new ConfigurationError(`AZURE_AUTHORITY_HOST must be an https URL, got '${authorityHost}'`, {
      hint: 'Entra authorities are https only, e.g. https://login.microsoftonline.com',
    });
  }
  return {
    tokenFilePath,
    tenantId,
    clientId: identity.value,
    authorityHost,
    disableInstanceDiscovery: isLoopbackHostname(url.hostname),
  };
}

function isLoopbackHostname(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    (process.getBuiltinModule('node:net').isIP(bare) === 4 && bare.startsWith('127.'))
  );
}
