import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { findKeylessError } from '@keyless/core';
import { untrustedCertificateError } from '@keyless/core/internal';
import type { RedisOptions } from 'ioredis';
import { ioredisLibrary } from './ioredis-library.js';
import { assertConnectionDestination, type ResolvedConnection } from './redis-options.js';

/** What one client's socket connector needs from the connector that owns the client. */
export interface SocketConnectorContext {
  connection: ResolvedConnection;
  /**
   * Cluster: each node's connector is made with that node's ioredis options (the address the
   * cluster announced, after `natMap`); this answers where its socket goes. Without it, every
   * socket goes to `connection`.
   */
  connectionFor?(nodeOptions: { host?: unknown; port?: unknown }): ResolvedConnection;
  /** A connection was refused for good (destination, certificate): the client ends with `error`. */
  onFatal(error: Error): void;
  /**
   * A socket was handed to ioredis for its handshake (HELLO/AUTH, SELECT, ready check), which
   * ioredis does not bound; `handshakeDone` stops the bound and must be called on `ready` (until
   * then every read and write of the socket re-arms its timer). `nodeOptions`: the options of the
   * client whose socket it is (a cluster's connector serves every node).
   */
  onHandshake(handshakeDone: () => void, nodeOptions: unknown): void;
  /** A socket failed (refused, reset, timed out …): the cause keyless gives when commands give up. */
  onConnectionError(error: Error): void;
  /**
   * Resolves once the client's handshake has a password or token (the first one is fetched here,
   * at the first connect, not when the connector is created). Rejects with the typed error when it
   * cannot be had.
   */
  beforeConnect(nodeOptions: unknown): Promise<void>;
}

/** ioredis's message for a connection closed on purpose; its error handler stays quiet about it. */
const connectionClosedMessage = 'Connection is closed.';

/**
 * keyless opens every Redis connection itself (through ioredis's `Connector` option; see
 * ioredis-internals.ts, item 7), so the socket goes exactly to `host`:`port` with the TLS keyless
 * decided and nothing from the options can redirect it or weaken verification. Before each
 * (re)connect it applies the transport rule again (NODE_TLS_REJECT_UNAUTHORIZED is read then, as
 * Node does); a refusal or a certificate Node did not accept rejects the connect with a typed
 * error, which ends the client instead of reconnecting forever. Network failures resolve with the
 * destroyed socket, so ioredis reports them and reconnects through `retryStrategy` as usual.
 *
 * The promise settles once the TLS handshake is done (not when the TCP socket opens), so a
 * certificate failure is known before anything — the password included — is written.
 */
export function socketConnectorFor(context: SocketConnectorContext): NonNullable<RedisOptions['Connector']> {
  // ioredis loads here, with the first client (ioredis-library.ts says why).
  const { AbstractConnector } = ioredisLibrary();
  return class KeylessSocketConnector extends AbstractConnector {
    readonly #connectTimeoutMs: number;
    readonly #disconnectTimeoutMs: number;
    readonly #family: number | undefined;
    readonly #connection: ResolvedConnection;
    readonly #nodeOptions: unknown;

    constructor(options: unknown) {
      const settings = (options ?? {}) as {
        connectTimeout?: unknown;
        disconnectTimeout?: unknown;
        family?: unknown;
      };
      const disconnectTimeoutMs = positiveNumber(settings.disconnectTimeout) ?? 2000;
      super(disconnectTimeoutMs);
      this.#disconnectTimeoutMs = disconnectTimeoutMs;
      this.#connectTimeoutMs = positiveNumber(settings.connectTimeout) ?? 0;
      this.#family =
        typeof settings.family === 'number' && settings.family !== 0 ? settings.family : undefined;
      this.#nodeOptions = options;
      this.#connection =
        context.connectionFor === undefined
          ? context.connection
          : context.connectionFor((options ?? {}) as { host?: unknown; port?: unknown });
    }

    connect(): Promise<Socket> {
      this.connecting = true;
      return new Promise<Socket>((resolve, reject) => {
        // As ioredis's own connector: a disconnect() in the same tick wins.
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error(connectionClosedMessage));
            return;
          }
          try {
            assertConnectionDestination(this.#connection, process.env);
          } catch (error) {
            context.onFatal(error as Error);
            reject(error);
            return;
          }
          context.beforeConnect(this.#nodeOptions).then(
            () => {
              if (this.connecting) this.#open(resolve, reject);
              else reject(new Error(connectionClosedMessage));
            },
            (error: unknown) => this.#credentialFailed(error, resolve, reject),
          );
        });
      });
    }

    /**
     * The password or token could not be had. A failure that asking again can cure (throttled,
     * unavailable) is reported like a network failure — ioredis reconnects through `retryStrategy`,
     * and each attempt asks again; one that it cannot (no such secret, no role, no identity) ends
     * the client with the typed error, like an untrusted certificate, instead of asking forever.
     */
    #credentialFailed(
      error: unknown,
      resolve: (socket: Socket) => void,
      reject: (error: Error) => void,
    ): void {
      const failure = (findKeylessError(error) ?? error) as Error;
      if (!this.connecting) {
        reject(new Error(connectionClosedMessage));
        return;
      }
      if (findKeylessError(error)?.retryable !== true) {
        context.onFatal(failure);
        reject(failure);
        return;
      }
      this.firstError = failure;
      context.onConnectionError(failure);
      // A socket that never connected: ioredis reports firstError and reconnects (item 7).
      const socket = new net.Socket();
      socket.destroy();
      this.stream = socket;
      resolve(socket);
    }

    #open(resolve: (socket: Socket) => void, reject: (error: Error) => void): void {
      const connection = this.#connection;
      const { host, port } = connection;
      const family = this.#family === undefined ? {} : { family: this.#family };
      const socket =
        connection.tls === false
          ? net.connect({ host, port, ...family })
          : tls.connect({
              host,
              port,
              ...family,
              ...(connection.tls.ca === undefined ? {} : { ca: connection.tls.ca }),
              // Explicit, so that NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch it off either.
              rejectUnauthorized: true,
            });
      this.stream = socket;
      // As ioredis's own connector: ioredis reports this error when it finds the socket destroyed.
      socket.once('error', (error) => {
        this.firstError = error;
        context.onConnectionError(error);
      });
      const readyEvent = connection.tls === false ? 'connect' : 'secureConnect';
      const onConnectTimeout = () => {
        socket.destroy(
          Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT', syscall: 'connect' }),
        );
      };
      const finish = () => {
        socket.off(readyEvent, onReady);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('timeout', onConnectTimeout);
        socket.setTimeout(0);
      };
      const onReady = () => {
        finish();
        this.#boundHandshake(socket);
        resolve(socket);
      };
      const onError = (error: Error) => {
        finish();
        socket.destroy();
        const certificateError = untrustedCertificateError(error, {
          service: 'Redis',
          target: `${host}:${port}`,
          caOption: 'tls.ca',
        });
        if (certificateError) {
          context.onFatal(certificateError);
          reject(certificateError);
          return;
        }
        resolve(socket);
      };
      // disconnect() during the handshake: a destroyed socket ends the client as ioredis expects.
      const onClose = () => {
        finish();
        resolve(socket);
      };
      socket.once(readyEvent, onReady);
      socket.once('error', onError);
      socket.once('close', onClose);
      // ioredis applies connectTimeout only to a socket still connecting; this one is handed over
      // connected, so the bound lives here.
      if (this.#connectTimeoutMs > 0) {
        socket.setTimeout(this.#connectTimeoutMs);
        socket.once('timeout', onConnectTimeout);
      }
    }

    /**
     * ioredis clears its connect timeout once the socket is open and has none for the handshake:
     * a server (or a proxy) that accepts and never answers would hold `createRedisConnector()` and
     * every queued command forever. The same `connectTimeout` bounds the handshake until the
     * server first answers; the socket then fails like a connect timeout (a network failure:
     * ioredis reconnects, the first connect rejects with ServiceUnavailableError). A server that
     * has answered is left to ioredis (its ready check waits quietly while Redis is LOADING).
     */
    #boundHandshake(socket: Socket): void {
      if (this.#connectTimeoutMs <= 0) return;
      const timeoutMs = this.#connectTimeoutMs;
      const disarm = () => {
        socket.off('timeout', onTimeout);
        socket.setTimeout(0);
      };
      const onTimeout = () => {
        if (socket.bytesRead > 0) {
          disarm();
          return;
        }
        socket.destroy(
          Object.assign(new Error(`Redis did not answer the handshake within ${timeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        );
      };
      socket.setTimeout(timeoutMs);
      socket.on('timeout', onTimeout);
      context.onHandshake(disarm, this.#nodeOptions);
    }

    /** Ends the socket; the fallback destroy does not keep the process alive. */
    override disconnect(): void {
      this.connecting = false;
      const stream = this.stream as Socket | undefined;
      if (!stream) return;
      if (stream.connecting || stream.destroyed) {
        stream.destroy();
        return;
      }
      const timer = setTimeout(() => stream.destroy(), this.#disconnectTimeoutMs);
      timer.unref();
      stream.once('close', () => clearTimeout(timer));
      stream.end();
    }
  };
}

function positiveNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
