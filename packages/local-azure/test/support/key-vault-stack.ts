import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import {
  ensureLocalCertificateAuthority,
  type IdentityEndpoint,
  type IdentityEndpointOptions,
  type KeyVaultEmulator,
  type KeyVaultEmulatorOptions,
  type LocalCertificateAuthority,
  startIdentityEndpoint,
  startKeyVaultEmulator,
} from '../../src/index.js';
import { appServiceHeaders, appServiceUrl } from './token-requests.js';

export const vaultResource = 'https://vault.azure.net';

export interface KeyVaultStack {
  identity: IdentityEndpoint;
  authority: LocalCertificateAuthority;
  vault: KeyVaultEmulator;
  stop(): Promise<void>;
}

/** An identity endpoint, a CA in a fresh state folder, and the emulator trusting that endpoint. */
export async function startKeyVaultStack(
  options: {
    identity?: IdentityEndpointOptions;
    vault?: Omit<KeyVaultEmulatorOptions, 'identity' | 'tls'>;
  } = {},
): Promise<KeyVaultStack> {
  const stateFolder = await mkdtemp(join(tmpdir(), 'keyless-key-vault-'));
  const [identity, authority] = await Promise.all([
    startIdentityEndpoint(options.identity),
    ensureLocalCertificateAuthority(stateFolder),
  ]);
  const vault = await startKeyVaultEmulator({
    ...options.vault,
    identity,
    tls: { cert: authority.serverCertificate, key: authority.serverKey },
  });
  return {
    identity,
    authority,
    vault,
    async stop() {
      await Promise.all([vault.stop(), identity.stop()]);
      await rm(stateFolder, { recursive: true, force: true });
    },
  };
}

/** The real SecretClient, trusting the local CA; loopback vault URLs need the challenge-domain opt-out. */
export function secretClient(
  stack: KeyVaultStack,
  credential: TokenCredential,
  options: SecretClientOptions = {},
): SecretClient {
  return new SecretClient(stack.vault.url, credential, {
    disableChallengeResourceVerification: true,
    tlsOptions: { ca: stack.authority.caCertificate },
    // Keep fault tests quick; the SDK's own retry logic is what runs.
    retryOptions: { retryDelayInMs: 50, maxRetryDelayInMs: 200 },
    ...options,
  });
}

/** A credential that always hands out the same token: for tokens the test made wrong on purpose. */
export function fixedTokenCredential(token: string): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

/** Mints a token over the App Service protocol, as a managed-identity client would. */
export async function mintToken(
  identity: IdentityEndpoint,
  resource: string,
  selector: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(
    appServiceUrl(identity, { 'api-version': '2019-08-01', resource, ...selector }),
    { headers: appServiceHeaders(identity) },
  );
  const body = (await response.json()) as { access_token?: string };
  if (!response.ok || !body.access_token) throw new Error(`token request failed with ${response.status}`);
  return body.access_token;
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON members.
  body: any;
}

/** A plain HTTPS request trusting the local CA, for what the SDK would never send. */
export function rawRequest(
  stack: KeyVaultStack,
  pathAndQuery: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsAnswer> {
  const url = new URL(pathAndQuery, stack.vault.url);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: stack.authority.caCertificate,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text ? JSON.parse(text) : undefined,
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}
