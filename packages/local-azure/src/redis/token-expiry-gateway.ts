import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { listenOn } from '../http/listen-on.js';
import { loopbackHost } from '../processes/free-port.js';
import { AuthenticationTracker, type PasswordJudge } from './authentication-tracker.js';

/** setTimeout's limit; a longer wait is re-armed. */
const longestTimerMs = 2_147_483_647;

export interface TokenExpiryGatewayOptions {
  /** redis-server's private plain port on loopback (read per connection: it is set at start). */
  upstreamPort: () => number;
  judge: PasswordJudge;
  /** The client-facing plain port (0: a free one). */
  port: number;
  /** Also a TLS port (0: a free one) with this certificate, as redis-server's own TLS would. */
  tls?: { certPath: string; keyPath: string; port: number };
}

/**
 * Azure Cache for Redis closes a connection whose Microsoft Entra token expires unless the client
 * sent AUTH with a newer one first ("client applications must periodically refresh the Microsoft
 * Entra token before expiry. Then the apps must send an AUTH command to the Redis server to avoid
 * disrupting connections":
 * https://learn.microsoft.com/azure/azure-cache-for-redis/cache-azure-active-directory-for-authentication).
 * Redis keeps an authenticated connection whatever happens to its password, so this gateway sits
 * in front of redis-server: it terminates TLS (the local CA's server certificate), forwards bytes
 * both ways unchanged, follows each conversation (AuthenticationTracker) and closes a connection
 * when the token it is authenticated with expires.
 */
export class TokenExpiryGateway {
  readonly #servers: Server[] = [];
  readonly #connections = new Set<Socket>();
  readonly #options: TokenExpiryGatewayOptions;
  #port = 0;
  #tlsPort: number | undefined;
  #expiryDrops = 0;

  private constructor(options: TokenExpiryGatewayOptions) {
    this.#options = options;
  }

  static async start(options: TokenExpiryGatewayOptions): Promise<TokenExpiryGateway> {
    const gateway = new TokenExpiryGateway(options);
    try {
      await gateway.#listen();
    } catch (error) {
      await gateway.close();
      throw error;
    }
    return gateway;
  }

  get port(): number {
    return this.#port;
  }

  get tlsPort(): number | undefined {
    return this.#tlsPort;
  }

  /** Connections closed because their token expired without a newer AUTH. */
  get expiryDrops(): number {
    return this.#expiryDrops;
  }

  async #listen(): Promise<void> {
    const plain = createServer((socket) => this.#accept(socket));
    this.#servers.push(plain);
    plain.on('error', () => {});
    this.#port = await listenOn(plain, loopbackHost, this.#options.port);
    const tls = this.#options.tls;
    if (tls) {
      const secure = createTlsServer(
        { cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) },
        (socket) => this.#accept(socket),
      );
      this.#servers.push(secure);
      secure.on('error', () => {});
      // A client that fails the handshake (it does not trust the CA) is simply gone.
      secure.on('tlsClientError', () => {});
      this.#tlsPort = await listenOn(secure, loopbackHost, tls.port);
    }
  }

  #accept(client: Socket): void {
    const upstream = connect({ host: loopbackHost, port: this.#options.upstreamPort() });
    // Requests and replies are small: send each at once (what the bench's sequential INCRs need).
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#connections.add(client);
    this.#connections.add(upstream);
    let expiryTimer: NodeJS.Timeout | undefined;
    /** Cut both sides at once: a socket error, or the token expired. */
    const end = () => {
      if (expiryTimer !== undefined) clearTimeout(expiryTimer);
      this.#connections.delete(client);
      this.#connections.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    /** One side closed: the other gets what is already on its way (a reply to QUIT), then closes. */
    const closeAfterFlush = (other: Socket) => {
      if (expiryTimer !== undefined) clearTimeout(expiryTimer);
      this.#connections.delete(client);
      this.#connections.delete(upstream);
      other.end();
      setTimeout(() => other.destroy(), 1_000).unref();
    };
    const armExpiry = (expiresAtMs: number | undefined) => {
      if (expiryTimer !== undefined) clearTimeout(expiryTimer);
      expiryTimer = undefined;
      if (expiresAtMs === undefined) return;
      expiryTimer = setTimeout(
        () => {
          if (tracker.expiresAtMs !== expiresAtMs) return;
          if (expiresAtMs > Date.now()) {
            armExpiry(expiresAtMs);
            return;
          }
          this.#expiryDrops += 1;
          end();
        },
        Math.min(Math.max(expiresAtMs - Date.now(), 0), longestTimerMs),
      );
      expiryTimer.unref();
    };
    const tracker = new AuthenticationTracker(this.#options.judge, armExpiry);
    pipe(client, upstream, (chunk) => tracker.fromClient(chunk));
    pipe(upstream, client, (chunk) => tracker.fromServer(chunk));
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => closeAfterFlush(upstream));
    upstream.on('close', () => closeAfterFlush(client));
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    this.#connections.clear();
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) resolve();
            else server.close(() => resolve());
          }),
      ),
    );
  }
}

/** Forwards `from` to `to` as it arrives, with backpressure, showing each chunk to `observe` first. */
function pipe(from: Socket, to: Socket, observe: (chunk: Buffer) => void): void {
  from.on('data', (chunk: Buffer) => {
    observe(chunk);
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
}
