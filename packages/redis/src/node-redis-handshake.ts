import type { BasicAuth } from './node-redis-credentials-provider.js';
import type { PassedNodeRedisSocketOptions } from './node-redis-options.js';
import type { RedisCredentials } from './redis-credentials.js';

/**
 * What node-redis's standalone and cluster connectors do alike at each handshake: hand the newest
 * user and password, fetched once for every connection (the first fetch is shared; a failed one is
 * tried again by the next handshake), after waiting for a renewal under way — so a connection that
 * was just refused does not log in again with the password the server refused.
 */
export class NodeRedisHandshake {
  readonly #credentials: RedisCredentials;
  readonly #onFirstCredentials: () => void;
  #first: Promise<void> | undefined;
  #recovering: Promise<unknown> | undefined;

  /** `onFirstCredentials`: once the first password is at hand (the connectors start their Entra renewal then). */
  constructor(credentials: RedisCredentials, onFirstCredentials: () => void) {
    this.#credentials = credentials;
    this.#onFirstCredentials = onFirstCredentials;
  }

  /** The credentials for one handshake, and the password they carry (to say later which one was refused). */
  async next(): Promise<{ auth: BasicAuth; password: string | undefined }> {
    if (this.#recovering) await this.#recovering;
    if (this.#credentials.password === undefined) {
      this.#first ??= this.#credentials.ready().then(this.#onFirstCredentials, (error: unknown) => {
        this.#first = undefined;
        throw error;
      });
      await this.#first;
    }
    const password = this.#credentials.password;
    const auth: BasicAuth = { password: password ?? '' };
    if (this.#credentials.user !== undefined) auth.username = this.#credentials.user;
    return { auth, password };
  }

  /** A renewal is under way (handshakes wait for it). */
  get recovering(): boolean {
    return this.#recovering !== undefined;
  }

  /** The server refused `refused`: renew the password (the Key Vault secret fetched afresh); handshakes wait for it. */
  recover(refused: string | undefined): void {
    const recovery = this.#credentials.recover(refused).catch(() => false);
    this.#recovering = recovery;
    void recovery.finally(() => {
      if (this.#recovering === recovery) this.#recovering = undefined;
    });
  }
}

/**
 * The reconnect decision when keyless has none of its own (not a refused login, not a failure no
 * retry can cure): the application's `reconnectStrategy`, else node-redis's default (socket.ts): no
 * reconnect after a socket timeout, else 50 ms × 2^retries up to 2 s, plus up to 200 ms of jitter.
 */
export function applicationReconnectDecision(
  retries: number,
  cause: Error,
  userStrategy: PassedNodeRedisSocketOptions['reconnectStrategy'],
): number | false | Error {
  if (userStrategy === false || typeof userStrategy === 'number') return userStrategy;
  if (typeof userStrategy === 'function') return userStrategy(retries, cause);
  if (cause?.name === 'SocketTimeoutError') return false;
  return Math.min(2 ** retries * 50, 2000) + Math.floor(Math.random() * 200);
}

/**
 * What close() does with a node-redis client whose replies did not all arrive within its bound (a
 * node that stopped answering). node-redis's close() has already marked the client closed, so its
 * destroy() rejects every command still waiting (DisconnectsClientError) and then throws
 * ClientClosedError before it reaches the socket: the socket is unref'd instead, so that it keeps no
 * process alive (node-redis destroys it once anything arrives on it, or TCP keep-alive gives up).
 */
export function abandonNodeRedisClient(client: unknown): void {
  const target = client as { destroy?: () => void; unref?: () => void } | null;
  try {
    target?.destroy?.();
  } catch {
    // ClientClosedError, after the waiting commands were rejected.
  }
  try {
    target?.unref?.();
  } catch {
    // Nothing left to unref.
  }
}
