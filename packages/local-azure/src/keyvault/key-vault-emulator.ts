import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InjectedLatency } from '../http/injected-latency.js';
import { listenOn } from '../http/listen-on.js';
import { urlHost } from '../identity/loopback-host.js';
import { AccessPolicies } from './access-policies.js';
import { authenticateRequest, type TokenVerifier } from './bearer-authentication.js';
import { KeyVaultRequestCounters } from './key-vault-counters.js';
import { badParameter, KeyVaultError } from './key-vault-errors.js';
import { KeyVaultFaultInjector } from './key-vault-faults.js';
import type {
  KeyVaultAccessPolicyPermissions,
  KeyVaultCounters,
  KeyVaultEmulator,
  KeyVaultEmulatorOptions,
  KeyVaultFaults,
  KeyVaultPermissionModel,
  KeyVaultRole,
  KeyVaultSecretPermission,
  SeedSecretOptions,
} from './key-vault-types.js';
import { BodyTooLargeError, readJsonBody } from './request-body.js';
import { RoleAssignments } from './role-assignments.js';
import { runOperation } from './secret-operations.js';
import { assertSecretName } from './secret-parameters.js';
import { SecretStore } from './secret-store.js';
import { matchRoute, parseVaultRequestTarget, type RouteMatch } from './vault-routes.js';

/** Starts a Key Vault secrets emulator over HTTPS that the unchanged `SecretClient` talks to. */
export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions): Promise<KeyVaultEmulator> {
  assertOptions(options);
  const emulator = new LocalKeyVaultEmulator(options);
  await emulator.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return emulator;
}

const jsonContentType = 'application/json; charset=utf-8';

// api-versions the secrets API has had: `7.x` (with previews) and the newer date form the SDK sends.
const apiVersionPattern = /^(\d+\.\d+|\d{4}-\d{2}-\d{2})(-preview(\.\d+)?)?$/i;

class LocalKeyVaultEmulator implements KeyVaultEmulator {
  readonly #identity: TokenVerifier;
  readonly #now: () => number;
  readonly #store = new SecretStore();
  readonly #roles: RoleAssignments;
  readonly #accessPolicies: AccessPolicies;
  readonly #permissionModel: KeyVaultPermissionModel;
  readonly #faults = new KeyVaultFaultInjector();
  readonly #counters = new KeyVaultRequestCounters();
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #latency = new InjectedLatency();
  #url = '';
  #stopping: Promise<void> | undefined;

  constructor(options: KeyVaultEmulatorOptions) {
    this.#identity = options.identity;
    this.#now = options.now ?? Date.now;
    this.#roles = new RoleAssignments(options.roleAssignments);
    this.#accessPolicies = new AccessPolicies(options.accessPolicies);
    this.#permissionModel = options.permissionModel ?? 'rbac';
    this.#server = createServer({ cert: options.tls.cert, key: options.tls.key }, (request, response) =>
      this.#onRequest(request, response),
    );
    this.#server.on('clientError', (error, socket) => answerUnparsableRequest(error, socket));
    // Raw sockets, so stop() also ends connections still in the TLS handshake.
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(host: string, port: number): Promise<void> {
    const boundPort = await listenOn(this.#server, host, port);
    // The host as given, not the bound address: the certificate names 127.0.0.1, ::1 and localhost.
    this.#url = `https://${urlHost(host)}:${boundPort}/`;
  }

  get url(): string {
    return this.#url;
  }

  get faults(): KeyVaultFaults {
    return this.#faults;
  }

  get counters(): KeyVaultCounters {
    return this.#counters;
  }

  assignRole(principalId: string, role: KeyVaultRole): void {
    this.#roles.assign(principalId, role);
  }

  removeRole(principalId: string, role?: KeyVaultRole): void {
    this.#roles.remove(principalId, role);
  }

  get permissionModel(): KeyVaultPermissionModel {
    return this.#permissionModel;
  }

  setAccessPolicy(
    objectId: string,
    permissions: KeyVaultAccessPolicyPermissions | readonly KeyVaultSecretPermission[],
  ): void {
    this.#accessPolicies.set(objectId, permissions);
  }

  removeAccessPolicy(objectId: string): void {
    this.#accessPolicies.remove(objectId);
  }

  setSecret(name: string, value: string, options: SeedSecretOptions = {}): { version: string } {
    if (typeof value !== 'string') throw new TypeError('setSecret: value must be a string');
    try {
      assertSecretName(name);
      const attributes = options.enabled === undefined ? {} : { attributes: { enabled: options.enabled } };
      const version = this.#store.set(
        name,
        value,
        {
          ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
          ...(options.tags !== undefined ? { tags: { ...options.tags } } : {}),
          ...attributes,
        },
        this.#nowSeconds(),
      );
      return { version: version.version };
    } catch (error) {
      // Say what Azure would have said, as a plain error for the test or CLI that seeded it.
      if (error instanceof KeyVaultError) throw new Error(`setSecret: ${error.message}`);
      throw error;
    }
  }

  secretValues(): readonly string[] {
    return this.#store.everyValue();
  }

  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#latency.releaseAll();
      this.#server.close(() => resolve());
      // Keep-alive and half-open sockets would otherwise hold the server, and the process, open.
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#stopping;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    this.#handle(request, response).catch((error: unknown) => this.#answerError(request, response, error));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = parseVaultRequestTarget(request.url);
    const route = matchRoute(request.method ?? '', target.segments);
    this.#counters.recordRequest(route.kind === 'operation' ? route.operation : undefined);
    // Before anything of the body is read: the SDK's first request has no token and no body, and
    // waits for this challenge to learn the tenant and resource.
    const claims = await authenticateRequest(request.headers.authorization, this.#identity);
    await this.#latency.wait(this.#faults.latencyMilliseconds);
    if (this.#stopping) return;
    const fault = this.#faults.next();
    if (fault) throw fault;
    const apiVersion = readApiVersion(target.query);
    const operationRoute = resolvedOperation(route, request.method ?? '');
    // One model decides, never both: Azure ignores access policies on an RBAC vault and role
    // assignments' data actions on an access-policy vault.
    if (this.#permissionModel === 'access-policy')
      this.#accessPolicies.authorize(claims, operationRoute.operation);
    else this.#roles.authorize(claims, operationRoute.operation, operationRoute.secretName);
    const answer = await runOperation(
      { store: this.#store, vaultBase: this.#url.slice(0, -1), nowSeconds: () => this.#nowSeconds() },
      {
        operation: operationRoute.operation,
        secretName: operationRoute.secretName,
        version: operationRoute.version,
        query: target.query,
        apiVersion,
        readBody: () => readJsonBody(request),
      },
    );
    this.#send(request, response, answer.status, answer.body);
  }

  #answerError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    if (error instanceof KeyVaultError) {
      // Stop reading an oversized upload instead of draining it.
      const closing: Record<string, string> =
        error instanceof BodyTooLargeError ? { Connection: 'close' } : {};
      this.#send(request, response, error.status, error.body(), { ...error.headers, ...closing });
      return;
    }
    // Never echo the error: it might quote a request body.
    this.#send(request, response, 500, {
      error: { code: 'InternalServerError', message: 'The local Key Vault emulator failed.' },
    });
  }

  #send(
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    body: object | undefined,
    headers: Record<string, string> = {},
  ): void {
    if (response.destroyed || response.headersSent || this.#stopping) return;
    this.#counters.recordAnswer(status);
    const commonHeaders: Record<string, string> = {
      ...headers,
      'Cache-Control': 'no-cache',
      'x-ms-request-id': randomUUID(),
    };
    const clientRequestId = request.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string') commonHeaders['x-ms-client-request-id'] = clientRequestId;
    if (body === undefined) {
      response.writeHead(status, commonHeaders);
      response.end();
      return;
    }
    const payload = JSON.stringify(body);
    response.writeHead(status, {
      ...commonHeaders,
      'Content-Type': jsonContentType,
      'Content-Length': Buffer.byteLength(payload),
    });
    response.end(payload);
  }
}

function resolvedOperation(route: RouteMatch, method: string): Extract<RouteMatch, { kind: 'operation' }> {
  if (route.kind === 'operation') return route;
  if (route.kind === 'method-not-allowed') {
    throw new KeyVaultError(
      405,
      'MethodNotAllowed',
      `The requested resource does not support http method '${method}'.`,
      { headers: { Allow: route.allowed.join(', ') } },
    );
  }
  throw new KeyVaultError(404, 'NotFound', 'The requested path does not exist in the Key Vault secrets API.');
}

function readApiVersion(query: ReadonlyMap<string, string>): string {
  const apiVersion = query.get('api-version');
  if (!apiVersion) throw badParameter("The request is missing the required query parameter 'api-version'.");
  if (!apiVersionPattern.test(apiVersion)) {
    throw badParameter(`The specified version (${apiVersion}) is not recognized.`);
  }
  return apiVersion;
}

function assertOptions(options: KeyVaultEmulatorOptions): void {
  if (!options || typeof options.identity?.verifyToken !== 'function' || !options.identity.tenantId) {
    throw new TypeError(
      'startKeyVaultEmulator: options.identity must be the identity endpoint (verifyToken and tenantId)',
    );
  }
  if (options.permissionModel !== undefined && !['rbac', 'access-policy'].includes(options.permissionModel)) {
    throw new TypeError("startKeyVaultEmulator: options.permissionModel must be 'rbac' or 'access-policy'");
  }
  if (typeof options.tls?.cert !== 'string' || typeof options.tls?.key !== 'string') {
    throw new TypeError(
      'startKeyVaultEmulator: options.tls needs PEM cert and key, e.g. from ensureLocalCertificateAuthority',
    );
  }
}

function answerUnparsableRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const payload = JSON.stringify({
    error: { code: 'BadParameter', message: 'The request could not be parsed.' },
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${jsonContentType}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
  );
}
