import { connect } from 'node:net';
import type { IdentityEndpoint } from '../../src/index.js';

export interface JsonAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON members.
  body: any;
}

export const storageResource = 'https://storage.azure.com';

export async function getJson(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<JsonAnswer> {
  const response = await fetch(url, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export function appServiceUrl(
  endpoint: IdentityEndpoint,
  query: Record<string, string>,
  path = '/msi/token',
): string {
  return `${endpoint.url}${path}?${new URLSearchParams(query)}`;
}

export function appServiceHeaders(endpoint: IdentityEndpoint): Record<string, string> {
  return { 'X-IDENTITY-HEADER': endpoint.appServiceEnvironment().IDENTITY_HEADER ?? '' };
}

export function imdsUrl(
  endpoint: IdentityEndpoint,
  query: Record<string, string>,
  path = '/metadata/identity/oauth2/token',
): string {
  return `${endpoint.url}${path}?${new URLSearchParams(query)}`;
}

export const imdsHeaders = { Metadata: 'true' };

/** Sends bytes that fetch would refuse to send, and returns whatever comes back before the close. */
export function sendRawRequest(url: string, raw: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(raw);
  });
}

export function statusOf(rawResponse: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(rawResponse)?.[1]);
}

/** Restores process.env to what it was, for files that point the SDKs at the endpoint. */
export function snapshotEnvironment(): () => void {
  const saved = { ...process.env };
  return () => {
    for (const name of Object.keys(process.env)) {
      if (!(name in saved)) delete process.env[name];
    }
    Object.assign(process.env, saved);
  };
}

// Every variable that makes either SDK pick another managed-identity source, or workload identity.
const managedIdentityVariables = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_FEDERATED_TOKEN_FILE',
  'DEFAULT_IDENTITY_CLIENT_ID',
];

/** Points the SDKs at the endpoint through the environment alone; returns the restore function. */
export function useManagedIdentityEnvironment(environment: Record<string, string>): () => void {
  const restore = snapshotEnvironment();
  for (const name of managedIdentityVariables) delete process.env[name];
  Object.assign(process.env, environment);
  return restore;
}
