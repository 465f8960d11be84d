import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { JWK } from 'jose';
import {
  type LocalWorkloadIdentity,
  startWorkloadIdentityEmulation,
} from '../entra/workload-identity-emulation.js';
import { InjectedLatency } from '../http/injected-latency.js';
import { listenOn } from '../http/listen-on.js';
import { appServiceTokenPath, createAppServiceProtocol } from './app-service-protocol.js';
import { discoveryDocument, jwksPath } from './discovery-documents.js';
import { FaultInjector } from './fault-injector.js';
import { IdentityRegistry } from './identity-registry.js';
import type {
  IdentityCounters,
  IdentityEndpoint,
  IdentityEndpointOptions,
  IdentityFaults,
  IdentityProtocol,
  IssuedTokenEvent,
  ManagedIdentityDefinition,
  SystemAssignedIdentityDefinition,
  TokenIssuedListener,
  VerifiedTokenClaims,
  VerifyTokenExpectations,
  WorkloadIdentityEmulation,
  WorkloadIdentityOptions,
} from './identity-types.js';
import { createImdsProtocol, imdsTokenPath } from './imds-protocol.js';
import { urlHost } from './loopback-host.js';
import { RequestCounters } from './request-counters.js';
import { foreignHostMessage, namesThisEndpoint } from './request-host.js';
import { parseRequestTarget, type RequestTarget } from './request-target.js';
import {
  assertTokenLifetime,
  type ResolvedEndpointOptions,
  resolveEndpointOptions,
} from './resolve-endpoint-options.js';
import type { TokenProtocol } from './token-protocol.js';
import { type MintedToken, TokenSigner } from './token-signer.js';
import { verifyIssuedToken } from './token-verifier.js';

/** Starts a local managed-identity endpoint that speaks both the App Service and the IMDS protocol. */
export async function startIdentityEndpoint(
  options: IdentityEndpointOptions = {},
): Promise<IdentityEndpoint> {
  const resolved = resolveEndpointOptions(options);
  const registry = new IdentityRegistry(resolved.systemAssigned, resolved.userAssigned);
  const signer = await TokenSigner.create(resolved.tenantId, resolved.signingKey);
  const endpoint = new LocalIdentityEndpoint(resolved, registry, signer);
  await endpoint.listen(resolved.host, resolved.port);
  if (resolved.workloadIdentity) {
    try {
      await endpoint.startWorkloadIdentity(resolved.workloadIdentity, resolved.host);
    } catch (error) {
      await endpoint.stop();
      throw error;
    }
  }
  return endpoint;
}

const jsonContentType = 'application/json; charset=utf-8';

class LocalIdentityEndpoint implements IdentityEndpoint {
  readonly #options: ResolvedEndpointOptions;
  readonly #registry: IdentityRegistry;
  readonly #signer: TokenSigner;
  readonly #server: Server;
  readonly #appService: TokenProtocol;
  readonly #imds: TokenProtocol;
  readonly #faults = new FaultInjector();
  readonly #counters = new RequestCounters();
  readonly #issuedTokens: string[] = [];
  readonly #listeners = new Set<TokenIssuedListener>();
  readonly #latency = new InjectedLatency();
  #tokenLifetimeSeconds: number;
  #workloadIdentity: LocalWorkloadIdentity | undefined;
  #url = '';
  #boundAddress = '';
  #stopping: Promise<void> | undefined;

  constructor(options: ResolvedEndpointOptions, registry: IdentityRegistry, signer: TokenSigner) {
    this.#options = options;
    this.#registry = registry;
    this.#signer = signer;
    this.#tokenLifetimeSeconds = options.tokenLifetimeSeconds;
    this.#appService = createAppServiceProtocol(options.identityHeader);
    this.#imds = createImdsProtocol();
    this.#server = createServer((request, response) => this.#onRequest(request, response));
    this.#server.on('clientError', (error, socket) => answerUnparsableRequest(error, socket));
  }

  async listen(host: string, port: number): Promise<void> {
    const boundPort = await listenOn(this.#server, host, port);
    this.#boundAddress = (this.#server.address() as AddressInfo).address;
    this.#url = `http://${urlHost(this.#boundAddress)}:${boundPort}`;
  }

  async startWorkloadIdentity(options: WorkloadIdentityOptions, host: string): Promise<void> {
    this.#workloadIdentity = await startWorkloadIdentityEmulation(
      options,
      {
        tenantId: this.#options.tenantId,
        registry: this.#registry,
        faults: this.#faults,
        counters: this.#counters,
        now: () => this.#options.now(),
        publicKeys: () => this.jwks(),
        waitLatency: async () => {
          await this.#latency.wait(this.#faults.latencyMilliseconds);
          return !this.#stopping;
        },
        issue: (identity, resource) => this.#issue(identity, resource, 'workload-identity'),
        remember: (secret) => {
          this.#issuedTokens.push(secret);
        },
      },
      host,
    );
  }

  get url(): string {
    return this.#url;
  }

  get workloadIdentity(): WorkloadIdentityEmulation | undefined {
    return this.#workloadIdentity;
  }

  get tenantId(): string {
    return this.#options.tenantId;
  }

  get issuer(): string {
    return this.#signer.issuer;
  }

  get jwksUrl(): string {
    return `${this.#url}${jwksPath}`;
  }

  get systemAssigned(): SystemAssignedIdentityDefinition | undefined {
    return this.#registry.systemAssigned;
  }

  get userAssigned(): readonly ManagedIdentityDefinition[] {
    return this.#registry.userAssigned;
  }

  get faults(): IdentityFaults {
    return this.#faults;
  }

  get counters(): IdentityCounters {
    return this.#counters;
  }

  appServiceEnvironment(): Record<string, string> {
    return {
      IDENTITY_ENDPOINT: `${this.#url}${appServiceTokenPath}`,
      IDENTITY_HEADER: this.#options.identityHeader,
    };
  }

  imdsEnvironment(): Record<string, string> {
    // No trailing slash: MSAL appends the token path to this value as it is.
    return { AZURE_POD_IDENTITY_AUTHORITY_HOST: this.#url };
  }

  jwks(): { keys: JWK[] } {
    return this.#signer.publicKeys();
  }

  verifyToken(token: string, expected: VerifyTokenExpectations): Promise<VerifiedTokenClaims> {
    return verifyIssuedToken(
      { issuer: this.issuer, publicKeys: () => this.jwks(), nowMilliseconds: this.#options.now },
      token,
      expected,
    );
  }

  setTokenLifetime(seconds: number): void {
    assertTokenLifetime(seconds);
    this.#tokenLifetimeSeconds = seconds;
  }

  addUserAssignedIdentity(definition: ManagedIdentityDefinition): void {
    this.#registry.addUserAssigned(definition);
  }

  issuedTokens(): readonly string[] {
    return [...this.#issuedTokens];
  }

  onTokenIssued(listener: TokenIssuedListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#latency.releaseAll();
      const workloadIdentityStopped = this.#workloadIdentity?.stop() ?? Promise.resolve();
      this.#server.close(() => void workloadIdentityStopped.then(() => resolve()));
      // Keep-alive sockets would otherwise hold the server, and the process, open.
      this.#server.closeAllConnections();
    });
    return this.#stopping;
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    try {
      const target = parseRequestTarget(request.url);
      const protocol = this.#protocolFor(target.normalizedPath);
      if (!namesThisEndpoint(request.headers.host, request.url, this.#boundAddress)) {
        // Before faults and checks: a DNS-rebinding page must learn nothing, whatever state the endpoint is in.
        this.#refuseForeignHost(protocol, target, response);
        return;
      }
      if (protocol) {
        this.#answerTokenRequest(protocol, target, request, response).catch(() =>
          answerInternalError(response),
        );
        return;
      }
      const document =
        request.method === 'GET' || request.method === 'HEAD'
          ? discoveryDocument(target.normalizedPath, {
              url: this.#url,
              tenantId: this.#options.tenantId,
              issuer: this.issuer,
              publicKeys: () => this.jwks(),
            })
          : undefined;
      if (document) {
        sendJson(response, 200, document);
        return;
      }
      sendJson(response, 404, {
        error: 'not_found',
        error_description: `No such path: ${target.normalizedPath}`,
      });
    } catch {
      answerInternalError(response);
    }
  }

  #refuseForeignHost(
    protocol: TokenProtocol | undefined,
    target: RequestTarget,
    response: ServerResponse,
  ): void {
    if (protocol === undefined) {
      sendJson(response, 400, { error: 'invalid_request', error_description: foreignHostMessage });
      return;
    }
    this.#counters.recordTokenRequest(target.query.get('resource') || undefined);
    this.#sendTokenAnswer(response, 400, protocol.rejectionBody(400, foreignHostMessage));
  }

  #protocolFor(normalizedPath: string): TokenProtocol | undefined {
    if (normalizedPath === appServiceTokenPath) return this.#appService;
    if (normalizedPath === imdsTokenPath) return this.#imds;
    return undefined;
  }

  async #answerTokenRequest(
    protocol: TokenProtocol,
    target: RequestTarget,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    this.#counters.recordTokenRequest(target.query.get('resource') || undefined);
    const fault = this.#faults.next();
    if (fault.kind === 'outage') {
      this.#counters.recordRefusedConnection();
      // An RST rather than a FIN: clients see ECONNRESET, as when the real endpoint's host drops them.
      request.socket.resetAndDestroy();
      return;
    }
    await this.#latency.wait(this.#faults.latencyMilliseconds);
    if (this.#stopping) return;
    if (fault.kind === 'throttle') {
      this.#sendTokenAnswer(response, 429, protocol.faultBody(429), { 'Retry-After': fault.retryAfter });
      return;
    }
    if (fault.kind === 'fail') {
      this.#sendTokenAnswer(response, fault.status, protocol.faultBody(fault.status));
      return;
    }
    const outcome = protocol.evaluate(
      { method: request.method ?? '', headers: request.headers, query: target.query },
      this.#registry,
    );
    if (outcome.kind === 'reject') {
      this.#sendTokenAnswer(response, outcome.status, outcome.body, outcome.headers);
      return;
    }
    const minted = await this.#issue(outcome.identity, outcome.resource, protocol.name);
    if (!minted) return;
    this.#sendTokenAnswer(response, 200, protocol.successBody(minted, outcome.resource, outcome.identity));
  }

  /** One home for issuing: mint, remember for canary scans, tell listeners (Redis, PostgreSQL) before the client has it. */
  async #issue(
    identity: ManagedIdentityDefinition,
    resource: string,
    protocol: IdentityProtocol,
  ): Promise<MintedToken | undefined> {
    const minted = await this.#signer.mint({
      identity,
      resource,
      lifetimeSeconds: this.#tokenLifetimeSeconds,
      nowMilliseconds: this.#options.now(),
    });
    this.#issuedTokens.push(minted.token);
    await this.#notifyListeners(
      issuedTokenEvent(minted.token, resource, identity, protocol, minted.expiresOnSeconds),
    );
    return this.#stopping ? undefined : minted;
  }

  #sendTokenAnswer(
    response: ServerResponse,
    status: number,
    body: object,
    headers?: Record<string, string>,
  ): void {
    if (response.destroyed || response.writableEnded) return;
    this.#counters.recordAnswer(status);
    sendJson(response, status, body, headers);
  }

  async #notifyListeners(event: IssuedTokenEvent): Promise<void> {
    const outcomes = await Promise.allSettled([...this.#listeners].map(async (listener) => listener(event)));
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        process.emitWarning(`identity endpoint: an onTokenIssued listener failed: ${reason}`, {
          code: 'KEYLESS_TOKEN_LISTENER_FAILED',
        });
      }
    }
  }
}

function issuedTokenEvent(
  token: string,
  resource: string,
  identity: ManagedIdentityDefinition,
  protocol: IdentityProtocol,
  expiresOnSeconds: number,
): IssuedTokenEvent {
  const event = { resource, identity, protocol, expiresOnSeconds };
  // Not enumerable, so logging or serialising the event cannot leak the token.
  Object.defineProperty(event, 'token', { value: token, enumerable: false });
  return Object.freeze(event) as IssuedTokenEvent;
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
  });
  // Node leaves the body out by itself when answering HEAD.
  response.end(payload);
}

function answerInternalError(response: ServerResponse): void {
  sendJson(response, 500, {
    error: 'server_error',
    error_description: 'The local identity endpoint failed.',
  });
}

function answerUnparsableRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const payload = JSON.stringify({
    error: 'invalid_request',
    error_description: 'The request could not be parsed.',
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${jsonContentType}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
  );
}
