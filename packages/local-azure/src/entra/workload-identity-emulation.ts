import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { listenOn } from '../http/listen-on.js';
import type { FaultInjector } from '../identity/fault-injector.js';
import type { IdentityRegistry } from '../identity/identity-registry.js';
import type {
  FederatedIdentityCredential,
  ManagedIdentityDefinition,
  ServiceAccountTokenOptions,
  WorkloadIdentityEmulation,
  WorkloadIdentityOptions,
} from '../identity/identity-types.js';
import { urlHost } from '../identity/loopback-host.js';
import type { RequestCounters } from '../identity/request-counters.js';
import { foreignHostMessage, namesThisEndpoint } from '../identity/request-host.js';
import { parseRequestTarget } from '../identity/request-target.js';
import type { MintedToken } from '../identity/token-signer.js';
import {
  ClusterIssuer,
  clusterJwksPath,
  serviceAccountSubject,
  tokenExchangeAudience,
} from './cluster-issuer.js';
import { entraDocument } from './entra-documents.js';
import { type EntraRefusal, entraErrorBody, faultRefusal, refusals } from './entra-errors.js';
import { evaluateEntraTokenRequest, tokenPathTenant } from './entra-token-request.js';
import { FederatedCredentialStore } from './federated-credentials.js';
import { ProjectedTokenFile } from './projected-token-file.js';

/** What the workload-identity emulation shares with the identity endpoint: one registry, signer, fault set and counters. */
export interface TokenIssuingHost {
  readonly tenantId: string;
  readonly registry: IdentityRegistry;
  readonly faults: FaultInjector;
  readonly counters: RequestCounters;
  now(): number;
  /** The tenant's token-signing keys (JWKS). */
  publicKeys(): { keys: JWK[] };
  /** Waits out injected latency; false when the endpoint is stopping and nothing should be answered. */
  waitLatency(): Promise<boolean>;
  /** Mints, records and announces an access token; undefined when the endpoint is stopping. */
  issue(identity: ManagedIdentityDefinition, resource: string): Promise<MintedToken | undefined>;
  /** Remembers a secret the emulation made (a service-account token) for canary scans. */
  remember(secret: string): void;
}

const clusterPath = '/kubernetes/keyless-local/';
const maximumBodyBytes = 64 * 1024;
const jsonContentType = 'application/json; charset=utf-8';

/**
 * AKS workload identity, emulated: a local cluster OIDC issuer that signs the projected
 * service-account token, the file the kubelet keeps it in, federated credentials per identity, and
 * the Entra token endpoint that exchanges the token for the identity's access token
 * (https://learn.microsoft.com/azure/aks/workload-identity-overview). Served over HTTPS on a port of
 * its own, beside the HTTP identity endpoint: MSAL only accepts an https authority, while the
 * App Service and IMDS protocols are plain HTTP as in Azure.
 */
export async function startWorkloadIdentityEmulation(
  options: WorkloadIdentityOptions,
  host: TokenIssuingHost,
  listenHost: string,
): Promise<LocalWorkloadIdentity> {
  if (typeof options?.tls?.cert !== 'string' || typeof options.tls.key !== 'string') {
    throw new TypeError(
      'workloadIdentity.tls needs PEM cert and key, e.g. from ensureLocalCertificateAuthority',
    );
  }
  if (typeof options.tokenFilePath !== 'string' || options.tokenFilePath === '') {
    throw new TypeError('workloadIdentity.tokenFilePath must name the file to write the projected token to');
  }
  const lifetime = options.serviceAccountTokenLifetimeSeconds ?? 3600;
  if (!Number.isInteger(lifetime) || lifetime < 1) {
    throw new RangeError(
      `workloadIdentity.serviceAccountTokenLifetimeSeconds must be a whole number >= 1, got ${lifetime}`,
    );
  }
  const emulation = new LocalWorkloadIdentity(options, host, lifetime);
  await emulation.start(listenHost);
  return emulation;
}

export class LocalWorkloadIdentity implements WorkloadIdentityEmulation {
  readonly #host: TokenIssuingHost;
  readonly #server: Server;
  readonly #store = new FederatedCredentialStore();
  readonly #namespace: string;
  readonly #serviceAccount: string;
  readonly #lifetimeSeconds: number;
  readonly #options: WorkloadIdentityOptions;
  #issuer: ClusterIssuer | undefined;
  #file: ProjectedTokenFile | undefined;
  #authorityHost = '';
  #boundAddress = '';
  #stopping = false;

  constructor(options: WorkloadIdentityOptions, host: TokenIssuingHost, lifetimeSeconds: number) {
    this.#options = options;
    this.#host = host;
    this.#namespace = options.namespace ?? 'default';
    this.#serviceAccount = options.serviceAccount ?? 'keyless-app';
    this.#lifetimeSeconds = lifetimeSeconds;
    this.#server = createServer({ cert: options.tls.cert, key: options.tls.key }, (request, response) =>
      this.#onRequest(request, response),
    );
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  async start(listenHost: string): Promise<void> {
    const port = await listenOn(this.#server, listenHost, 0);
    this.#boundAddress = (this.#server.address() as AddressInfo).address;
    this.#authorityHost = `https://${urlHost(this.#boundAddress)}:${port}`;
    this.#issuer = await ClusterIssuer.create(`${this.#authorityHost}${clusterPath}`);
    const defaults =
      this.#options.federatedCredentials ??
      defaultCredentials(this.#host.registry, this.#issuer.url, this.subject);
    for (const { clientId, ...credential } of defaults) this.#store.add(clientId, credential);
    this.#file = new ProjectedTokenFile(this.#options.tokenFilePath, async () => ({
      token: await this.serviceAccountToken(),
      lifetimeSeconds: this.#lifetimeSeconds,
    }));
    await this.#file.rotate();
  }

  get authorityHost(): string {
    return this.#authorityHost;
  }

  get clusterIssuer(): string {
    return this.#requireIssuer().url;
  }

  get tokenFilePath(): string {
    return this.#options.tokenFilePath;
  }

  get subject(): string {
    return serviceAccountSubject(this.#namespace, this.#serviceAccount);
  }

  get tokenFileWrites(): number {
    return this.#file?.writes ?? 0;
  }

  environment(clientId?: string): Record<string, string> {
    const identity = clientId ?? this.#host.registry.userAssigned[0]?.clientId;
    return {
      AZURE_AUTHORITY_HOST: this.#authorityHost,
      AZURE_TENANT_ID: this.#host.tenantId,
      ...(identity ? { AZURE_CLIENT_ID: identity } : {}),
      AZURE_FEDERATED_TOKEN_FILE: this.#options.tokenFilePath,
    };
  }

  addFederatedCredential(clientId: string, credential: FederatedIdentityCredential): void {
    this.#store.add(clientId, credential);
  }

  removeFederatedCredential(clientId: string, name: string): boolean {
    return this.#store.remove(clientId, name);
  }

  federatedCredentials(clientId: string): readonly FederatedIdentityCredential[] {
    return this.#store.list(clientId);
  }

  async serviceAccountToken(options: ServiceAccountTokenOptions = {}): Promise<string> {
    const { token } = await this.#requireIssuer().mint({
      namespace: options.namespace ?? this.#namespace,
      serviceAccount: options.serviceAccount ?? this.#serviceAccount,
      audience: options.audience ?? tokenExchangeAudience,
      lifetimeSeconds: options.lifetimeSeconds ?? this.#lifetimeSeconds,
      nowMilliseconds: options.issuedAtMilliseconds ?? this.#host.now(),
    });
    this.#host.remember(token);
    return token;
  }

  rotateTokenFile(): Promise<void> {
    if (!this.#file) throw new Error('workload identity: not started');
    return this.#file.rotate();
  }

  stop(): Promise<void> {
    this.#stopping = true;
    this.#file?.stop();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #requireIssuer(): ClusterIssuer {
    if (!this.#issuer) throw new Error('workload identity: not started');
    return this.#issuer;
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    const target = parseRequestTarget(request.url);
    if (!namesThisEndpoint(request.headers.host, request.url, this.#boundAddress)) {
      sendJson(response, 400, { error: 'invalid_request', error_description: foreignHostMessage });
      return;
    }
    const tokenPath = tokenPathTenant(target.normalizedPath);
    if (tokenPath) {
      this.#answerTokenRequest(request, response, tokenPath).catch(() =>
        this.#refuse(response, faultRefusal(500)),
      );
      return;
    }
    const document =
      request.method === 'GET' || request.method === 'HEAD'
        ? this.#document(target.normalizedPath)
        : undefined;
    if (document) {
      sendJson(response, 200, document);
      return;
    }
    sendJson(response, 404, {
      error: 'not_found',
      error_description: `No such path: ${target.normalizedPath}`,
    });
  }

  #document(normalizedPath: string): object | undefined {
    const issuer = this.#requireIssuer();
    const issuerPath = clusterPath.toLowerCase();
    if (normalizedPath === `${issuerPath}.well-known/openid-configuration`) return issuer.discoveryDocument();
    if (normalizedPath === `${issuerPath}${clusterJwksPath}`) return issuer.publicKeys();
    return entraDocument(normalizedPath, {
      authorityHost: this.#authorityHost,
      tenantId: this.#host.tenantId,
      publicKeys: () => this.#host.publicKeys(),
    });
  }

  async #answerTokenRequest(
    request: IncomingMessage,
    response: ServerResponse,
    path: { tenant: string; version: 1 | 2 },
  ): Promise<void> {
    if (request.method !== 'POST') {
      this.#host.counters.recordTokenRequest(undefined);
      request.resume();
      this.#refuse(response, refusals.postOnly(), { Allow: 'POST' });
      return;
    }
    const form = await readForm(request);
    if (form === undefined) {
      this.#host.counters.recordTokenRequest(undefined);
      this.#refuse(response, { ...refusals.missingParameter('grant_type'), status: 413 });
      return;
    }
    this.#host.counters.recordTokenRequest(resourceOfScope(form));
    const fault = this.#host.faults.next();
    if (fault.kind === 'outage') {
      this.#host.counters.recordRefusedConnection();
      request.socket.resetAndDestroy();
      return;
    }
    if (!(await this.#host.waitLatency()) || this.#stopping) return;
    if (fault.kind === 'throttle') {
      this.#refuse(response, faultRefusal(429), { 'Retry-After': fault.retryAfter });
      return;
    }
    if (fault.kind === 'fail') {
      this.#refuse(response, faultRefusal(fault.status));
      return;
    }
    const outcome = await evaluateEntraTokenRequest(form, path, this.#host.tenantId, this.#host.registry, {
      federatedCredentials: this.#store,
      issuers: [this.#requireIssuer()],
      nowMilliseconds: this.#host.now(),
    });
    if (outcome.kind === 'refuse') {
      this.#refuse(response, outcome.refusal);
      return;
    }
    const minted = await this.#host.issue(outcome.identity, outcome.resource);
    if (!minted || this.#stopping) return;
    const lifetime = minted.expiresOnSeconds - minted.issuedAtSeconds;
    // Entra's client-credentials answer: numbers, not strings, and no resource or expires_on
    // (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#successful-response-1).
    this.#send(response, 200, {
      token_type: 'Bearer',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: minted.token,
    });
  }

  #refuse(response: ServerResponse, refusal: EntraRefusal, headers?: Record<string, string>): void {
    this.#send(
      response,
      refusal.status,
      entraErrorBody(refusal, this.#authorityHost, new Date(this.#host.now())),
      headers,
    );
  }

  #send(response: ServerResponse, status: number, body: object, headers?: Record<string, string>): void {
    if (response.destroyed || response.writableEnded) return;
    this.#host.counters.recordAnswer(status);
    sendJson(response, status, body, headers);
  }
}

function defaultCredentials(
  registry: IdentityRegistry,
  issuer: string,
  subject: string,
): Array<FederatedIdentityCredential & { clientId: string }> {
  const app = registry.userAssigned[0];
  if (!app) return [];
  return [
    {
      clientId: app.clientId,
      name: 'keyless-local-aks',
      issuer,
      subject,
      audiences: [tokenExchangeAudience],
    },
  ];
}

/** The resource a token request names, for the per-resource counter (as the other protocols count `resource`). */
function resourceOfScope(form: URLSearchParams): string | undefined {
  const resource = form.get('resource');
  if (resource) return resource;
  const scope = form
    .get('scope')
    ?.split(' ')
    .find((entry) => entry.endsWith('/.default'));
  return scope ? scope.slice(0, -'/.default'.length) : undefined;
}

/** The form body, or undefined when it is larger than any token request. */
function readForm(request: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maximumBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () =>
      resolve(tooLarge ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
    );
    request.on('error', reject);
  });
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: object,
  headers?: Record<string, string>,
): void {
  if (response.destroyed || response.headersSent) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': jsonContentType,
    'Content-Length': Buffer.byteLength(payload),
    // Entra never lets a token answer be cached.
    'Cache-Control': 'no-store, no-cache',
  });
  response.end(payload);
}
