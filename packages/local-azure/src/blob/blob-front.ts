import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { listenOn } from '../http/listen-on.js';
import { loopbackHost } from '../processes/free-port.js';
import {
  authenticateStorageRequest,
  type BlobTokenVerifier,
  permissionMismatch,
} from './blob-authentication.js';
import { classifyBlobRequest } from './blob-operations.js';
import type { BlobRoleAssignments } from './blob-role-assignments.js';
import { StorageError } from './storage-error.js';

export interface BlobFrontOptions {
  /** Tokens are verified with the identity endpoint's keys, issuer and clock. */
  identity: BlobTokenVerifier;
  /** PEM server certificate and key of the local CA. */
  tls: { cert: string; key: string };
  /** Azurite behind the front: its loopback port, and the CA its certificate is signed by. */
  upstream: { port: number; ca: string };
  accountName: string;
  roles: BlobRoleAssignments;
  /** Default 0: a free port. */
  port?: number;
}

export interface BlobFront {
  readonly port: number;
  stop(): Promise<void>;
}

// Headers that belong to one hop (RFC 9110 §7.6.1), not to the request or answer being forwarded.
const hopByHopHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * The verifying HTTPS front before Azurite: authenticates the bearer token as Azure Storage does
 * (Azurite checks issuer, audience and lifetime but not the signature), authorizes the operation
 * against the account's role assignments, and forwards everything else to Azurite unchanged —
 * bodies streamed both ways, so uploads and downloads of any size pass without being held.
 */
export async function startBlobFront(options: BlobFrontOptions): Promise<BlobFront> {
  // Keep-alive to Azurite: one TLS handshake per upstream socket, not per request.
  const agent = new Agent({ keepAlive: true, ca: options.upstream.ca });
  const sockets = new Set<Socket>();
  let stopping: Promise<void> | undefined;

  const server: Server = createServer(
    { cert: options.tls.cert, key: options.tls.key },
    (request, response) => {
      handle(request, response).catch((error: unknown) => answerError(request, response, error));
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Garbage or a half-open TLS handshake ends that connection only.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  server.on('clientError', (_error, socket) => socket.destroy());

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = new URL(request.url ?? '/', 'https://front.invalid');
    const claims = await authenticateStorageRequest(
      request.headers.authorization,
      options.identity,
      options.accountName,
    );
    const operation = classifyBlobRequest(request.method ?? 'GET', target.pathname, target.searchParams);
    if (!options.roles.allows(claims.oid, { container: operation.container }, operation.permissions)) {
      throw permissionMismatch();
    }
    forward(request, response);
  }

  function forward(request: IncomingMessage, response: ServerResponse): void {
    const upstream = httpsRequest(
      {
        host: loopbackHost,
        port: options.upstream.port,
        method: request.method,
        path: request.url,
        // The client's Host stays: Azurite builds the URLs in its answers (ServiceEndpoint) from it.
        headers: withoutHopByHop(request.headers),
        agent,
      },
      (answer) => {
        if (response.headersSent || response.destroyed) {
          answer.destroy();
          return;
        }
        response.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
        pipeline(answer, response, () => {});
      },
    );
    upstream.on('error', (error) => answerError(request, response, error));
    pipeline(request, upstream, (error) => {
      if (error) upstream.destroy();
    });
  }

  function answerError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (response.destroyed || stopping) return;
    const refusal =
      error instanceof StorageError
        ? error
        : // Never echo the cause: it may quote a request.
          new StorageError(500, 'InternalError', 'The local Blob front could not reach Azurite.');
    const { headers, body } = refusal.answer();
    const version = request.headers['x-ms-version'];
    // A refused request's body is not read: close rather than drain a large upload.
    const closing = request.complete ? {} : { Connection: 'close' };
    response.writeHead(refusal.status, {
      ...headers,
      ...closing,
      ...(typeof version === 'string' ? { 'x-ms-version': version } : {}),
      ...(request.method === 'HEAD' ? {} : { 'Content-Length': Buffer.byteLength(body) }),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  const port = await listenOn(server, loopbackHost, options.port ?? 0);
  return {
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      });
      return stopping;
    },
  };
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!hopByHopHeaders.has(name.toLowerCase())) kept[name] = value;
  }
  return kept;
}
