import { request } from 'node:http';
import type { Environment } from '@keyless/core';
import type { DoctorFailure, HostKind, HostReport } from './doctor-report.js';

/** Where IMDS answers on Azure VMs, scale sets and AKS nodes (a link-local address, no variable names it). */
export const imdsAddress = '169.254.169.254';

/** Every variable the host detection looks at, for the "none" verdict's message. */
export const hostVariables = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_AUTHORITY_HOST',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'KEYLESS_DEVELOPER_CREDENTIAL',
] as const;

/** The host kind and the URL whose `Date` header the clock check reads, when there is one. */
export interface DetectedHost {
  report: HostReport;
  /** An HTTP(S) URL on the identity endpoint (or Entra's authority) that answers without a token. */
  clockUrl?: string;
}

const set = (environment: Environment, name: string) => (environment[name] ?? '').trim() !== '';

/**
 * Reads the variables each Azure host injects, in the order the libraries honour them:
 * - AKS workload identity: `AZURE_FEDERATED_TOKEN_FILE` with `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`
 *   (`AZURE_AUTHORITY_HOST` optional) — https://learn.microsoft.com/azure/aks/workload-identity-overview;
 * - App Service, Functions, Container Apps: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`
 *   (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference);
 * - Azure Arc: `IDENTITY_ENDPOINT` and `IMDS_ENDPOINT`, no header — the agent answers a token request
 *   with a challenge file instead
 *   (https://learn.microsoft.com/azure/azure-arc/servers/managed-identity-authentication);
 * - IMDS at another address: `AZURE_POD_IDENTITY_AUTHORITY_HOST` (pod identity, the local stack);
 * - otherwise IMDS at 169.254.169.254, which only exists on Azure VMs, scale sets and AKS nodes:
 *   asked once, with a short timeout, to tell a VM from "no managed identity here".
 */
export async function detectHost(
  environment: Environment,
  options: { developerCredential: boolean; imdsTimeoutMs: number; imdsUrl?: string },
): Promise<DetectedHost> {
  if (options.developerCredential) {
    return {
      report: {
        kind: 'developer-credential',
        description:
          'developer sign-in (DefaultAzureCredential: Azure CLI, VS Code, environment), not a managed identity',
        variables: ['KEYLESS_DEVELOPER_CREDENTIAL'],
        status: 'warn',
      },
    };
  }
  if (set(environment, 'AZURE_FEDERATED_TOKEN_FILE')) {
    const needed = ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID'].filter((name) => !set(environment, name));
    const authority = (environment.AZURE_AUTHORITY_HOST || 'https://login.microsoftonline.com').replace(
      /\/+$/,
      '',
    );
    const variables = [
      'AZURE_FEDERATED_TOKEN_FILE',
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_AUTHORITY_HOST',
    ].filter((name) => set(environment, name));
    const report: HostReport = {
      kind: 'aks-workload-identity',
      description: `AKS workload identity (token file exchanged at ${authority})`,
      variables,
      status: needed.length === 0 ? 'pass' : 'fail',
    };
    if (needed.length > 0) {
      report.failure = {
        code: 'configuration',
        cause: `AZURE_FEDERATED_TOKEN_FILE is set but ${needed.join(' and ')} ${needed.length === 1 ? 'is' : 'are'} not`,
        fix: [
          'label the pod azure.workload.identity/use: "true" and annotate its service account with azure.workload.identity/client-id: <client id>, so the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST',
        ],
        notes: [],
      };
    }
    const tenant = environment.AZURE_TENANT_ID?.trim();
    return {
      report,
      ...(tenant
        ? { clockUrl: `${authority}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration` }
        : {}),
    };
  }
  if (set(environment, 'IDENTITY_ENDPOINT') && set(environment, 'IDENTITY_HEADER')) {
    return {
      report: {
        kind: 'app-service',
        description: `App Service, Functions or Container Apps (identity endpoint ${environment.IDENTITY_ENDPOINT})`,
        variables: ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'],
        status: 'pass',
      },
      clockUrl: environment.IDENTITY_ENDPOINT as string,
    };
  }
  if (set(environment, 'IMDS_ENDPOINT') || set(environment, 'IDENTITY_ENDPOINT')) {
    const variables = ['IDENTITY_ENDPOINT', 'IMDS_ENDPOINT'].filter((name) => set(environment, name));
    return {
      report: {
        kind: 'azure-arc',
        description: `Azure Arc-enabled server (identity endpoint ${environment.IDENTITY_ENDPOINT ?? environment.IMDS_ENDPOINT}, no IDENTITY_HEADER)`,
        variables,
        status: 'pass',
      },
      clockUrl: (environment.IDENTITY_ENDPOINT || environment.IMDS_ENDPOINT) as string,
    };
  }
  if (set(environment, 'MSI_ENDPOINT')) {
    return {
      report: {
        kind: 'app-service',
        description: `legacy App Service / Cloud Shell MSI endpoint ${environment.MSI_ENDPOINT}`,
        variables: ['MSI_ENDPOINT'],
        status: 'pass',
      },
      clockUrl: environment.MSI_ENDPOINT as string,
    };
  }
  if (set(environment, 'AZURE_POD_IDENTITY_AUTHORITY_HOST')) {
    const host = (environment.AZURE_POD_IDENTITY_AUTHORITY_HOST as string).replace(/\/+$/, '');
    return {
      report: {
        kind: 'imds',
        description: `IMDS at ${host} (AZURE_POD_IDENTITY_AUTHORITY_HOST)`,
        variables: ['AZURE_POD_IDENTITY_AUTHORITY_HOST'],
        status: 'pass',
      },
      clockUrl: `${host}/metadata/identity/oauth2/token`,
    };
  }
  const imdsUrl = options.imdsUrl ?? `http://${imdsAddress}/metadata/instance?api-version=2021-02-01`;
  if (await answers(imdsUrl, options.imdsTimeoutMs)) {
    return {
      report: {
        kind: 'imds',
        description: `Azure VM, scale set or AKS node: IMDS answers at ${imdsAddress}`,
        variables: [],
        status: 'pass',
      },
      clockUrl: `http://${imdsAddress}/metadata/identity/oauth2/token`,
    };
  }
  return {
    report: {
      kind: 'none',
      description: `no managed identity: none of ${hostVariables.join(', ')} is set and IMDS at ${imdsAddress} does not answer`,
      variables: [],
      status: 'fail',
      failure: noIdentityFailure(),
    },
  };
}

function noIdentityFailure(): DoctorFailure {
  return {
    code: 'credential-unavailable',
    cause: `no managed-identity endpoint: looked for ${hostVariables.join(', ')} and IMDS at ${imdsAddress}`,
    fix: [
      'on Azure: turn the managed identity on for this host, e.g. az webapp identity assign --name <app> --resource-group <group> (App Service), az containerapp identity assign …, az vm identity assign …; the platform then sets IDENTITY_ENDPOINT and IDENTITY_HEADER (or IMDS answers)',
      'on AKS: enable workload identity and label the pod azure.workload.identity/use: "true" (sets AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID)',
      'on a laptop: run `npx keyless-local up` and `source .env` (the local stack), or set KEYLESS_DEVELOPER_CREDENTIAL=true to use your Azure CLI sign-in',
    ],
    notes: [],
  };
}

/**
 * Whether IMDS itself answers: 200 with the instance document (`compute`). Anything else at that
 * address — a proxy's 403, a captive portal — is not a managed identity.
 */
function answers(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const outgoing = request(url, { headers: { Metadata: 'true' }, timeout: timeoutMs }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolve(false);
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 65_536) body += chunk;
      });
      response.on('end', () => resolve(/"compute"\s*:/.test(body)));
      response.on('error', () => resolve(false));
    });
    outgoing.on('timeout', () => outgoing.destroy());
    outgoing.on('error', () => resolve(false));
    outgoing.end();
  });
}

export type { HostKind };
