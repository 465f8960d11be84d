import { ClosedError, createTokenProvider, isKeylessError, type TokenProvider } from '@keyless/core';
import {
  backoffDelay,
  systemClock,
  type TimerHandle,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import { createKeyVaultConnector } from '@keyless/keyvault';
import { Redis, type RedisOptions } from 'ioredis';
import { type ConnectionHooks, installConnectionHooks } from './connection-hooks.js';
import { handshakePasswordOf } from './ioredis-internals.js';
import { reauthenticationDelay, retryDelay } from './reauthentication-schedule.js';
import { resolveAuth } from './redis-auth.js';
import { EntraCredentials, type RedisCredentials, SecretCredentials } from './redis-credentials.js';
import {
  isAuthenticationFailure,
  mapRedisError,
  type RedisErrorContext,
  sanitizedCause,
} from './redis-error-mapping.js';
import {
  type PassedRedisOptions,
  type RedisConnectorOptions,
  type ResolvedConnection,
  resolveConnection,
  resolvePassedRedisOptions,
} from './redis-options.js';
import { socketConnectorFor } from './redis-socket-connector.js';

/** What a `reauthenticated` or `password-refreshed` event says; never the password or token. */
export interface RedisConnectorEvent {
  /** When it happened (milliseconds since the epoch). */
  at: number;
  /** Entra mode: when the token now in use expires. */
  expiresOnTimestamp?: number;
  /** `reauthenticated`: how many live connections accepted the new token. */
  connections?: number;
}

/** The events a Redis connector emits. */
export type RedisConnectorEventName = 'reauthenticated' | 'password-refreshed';

/** What `createRedisConnector()` returns: an ioredis client whose credentials stay fresh, and a lifetime. */
export interface RedisConnector {
  /** The ioredis client (standalone). Throws ClosedError after close(). */
  readonly client: Redis;
  /**
   * Another connection with the same settings and credentials, kept re-authenticated like the main
   * one — use it for subscribers and blocking commands. `client.duplicate()` does the same.
   */
  duplicate(override?: Partial<RedisOptions>): Redis;
  /** Idempotent: quits every connection, stops timers, closes what the connector built. */
  close(): Promise<void>;
  /**
   * `password-refreshed`: new connections will use a new password or token (a rotated secret, a
   * refreshed token). `reauthenticated`: live connections sent `AUTH` with a new token (Entra).
   */
  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void;
}

/**
 * ioredis with a password from Key Vault or an Entra token. The first password or token is fetched
 * before connecting; unless `redisOptions.lazyConnect` is set, the promise resolves once the first
 * connection is ready and rejects with a typed error (AuthenticationFailedError,
 * ServiceUnavailableError, ConfigurationError for an untrusted certificate, …) when it cannot be.
 *
 * A password or token leaves the process only over TLS verified against a trusted CA and the
 * host's name, or to this machine: every setting that would break that (in `tls`, `redisOptions`,
 * the port, the environment) is refused with ConfigurationError before anything is fetched.
 */
export async function createRedisConnector(options: RedisConnectorOptions): Promise<RedisConnector> {
  warnAboutCredentialPrintingDebugOutput();
  const given = options ?? ({} as RedisConnectorOptions);
  // Options that would weaken or redirect the connection first: they name the exact option.
  const redisOptions = resolvePassedRedisOptions(given.redisOptions);
  const connection = resolveConnection(given);
  const auth = resolveAuth(given.auth);
  const needsProvider = auth.kind === 'entra-token' || auth.connector === undefined;
  const ownsProvider = needsProvider && given.tokenProvider === undefined;
  const tokenProvider = needsProvider ? (given.tokenProvider ?? createTokenProvider()) : undefined;
  let credentials: RedisCredentials;
  try {
    if (auth.kind === 'entra-token') {
      credentials = new EntraCredentials(tokenProvider as TokenProvider, auth.objectId, auth.scope);
    } else {
      const vault =
        auth.connector ??
        createKeyVaultConnector({
          ...(auth.vaultUrl === undefined ? {} : { vaultUrl: auth.vaultUrl }),
          tokenProvider: tokenProvider as TokenProvider,
        });
      credentials = new SecretCredentials(
        vault,
        auth.connector === undefined,
        auth.secretName,
        auth.username,
      );
    }
  } catch (error) {
    if (ownsProvider) await tokenProvider?.close();
    throw error;
  }
  const release = async () => {
    await credentials.close();
    if (ownsProvider) await tokenProvider?.close();
  };
  try {
    await credentials.start();
  } catch (error) {
    await release();
    throw error;
  }
  const connector = new KeylessRedisConnector(connection, credentials, redisOptions, release, {
    mode: credentials.mode,
    host: connection.host,
    port: connection.port,
    username: credentials.username,
    secretName: auth.kind === 'key-vault-secret' ? auth.secretName : undefined,
  });
  if (redisOptions.lazyConnect === true) return connector;
  try {
    await connector.connectFirst();
  } catch (error) {
    await connector.close();
    throw error;
  }
  return connector;
}

class KeylessRedisConnector implements RedisConnector {
  readonly #connection: ResolvedConnection;
  readonly #credentials: RedisCredentials;
  readonly #redisOptions: PassedRedisOptions;
  readonly #release: () => Promise<void>;
  readonly #errorContext: RedisErrorContext;
  readonly #clients = new Set<Redis>();
  readonly #listeners = new Map<RedisConnectorEventName, Set<(event: RedisConnectorEvent) => void>>();
  readonly #main: Redis;
  #timer: TimerHandle | undefined;
  #failedRenewals = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    connection: ResolvedConnection,
    credentials: RedisCredentials,
    redisOptions: PassedRedisOptions,
    release: () => Promise<void>,
    errorContext: RedisErrorContext,
  ) {
    this.#connection = connection;
    this.#credentials = credentials;
    this.#redisOptions = redisOptions;
    this.#release = release;
    this.#errorContext = errorContext;
    credentials.onChange(() => this.#credentialsChanged());
    this.#main = this.#createClient({ lazyConnect: true });
    this.#scheduleReauthentication();
  }

  get client(): Redis {
    if (this.#closed) throw new ClosedError('RedisConnector');
    return this.#main;
  }

  duplicate(override: Partial<RedisOptions> = {}): Redis {
    if (this.#closed) throw new ClosedError('RedisConnector');
    // The same rule as the connector's own options: refused, never silently dropped.
    const checked = resolvePassedRedisOptions(override, 'duplicate(override)');
    const lazy = checked.lazyConnect ?? this.#redisOptions.lazyConnect ?? false;
    const client = this.#createClient({ ...checked, lazyConnect: true });
    if (!lazy) client.connect().catch(() => {});
    return client;
  }

  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      this.#listeners.get(event)?.delete(listener);
    };
  }

  /** Connects the main client; rejects with a typed error if the first connection cannot be made. */
  connectFirst(): Promise<void> {
    const client = this.#main;
    return new Promise<void>((resolve, reject) => {
      const onReady = () => {
        client.off('error', onError);
        resolve();
      };
      const onError = (error: unknown) => {
        client.off('ready', onReady);
        client.off('error', onError);
        const mapped = mapRedisError(error, this.#errorContext);
        // Anything we do not map still loses the command arguments ioredis attaches.
        reject(mapped !== error || isKeylessError(error) ? mapped : sanitizedCause(error));
      };
      client.once('ready', onReady);
      client.on('error', onError);
      client.connect().catch(() => {
        // Settled by the events above: ioredis also rejects here while it recovers on its own.
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) systemClock.clearTimer(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#clients].map((client) => quitOrDisconnect(client)));
    this.#clients.clear();
    this.#listeners.clear();
    await this.#release();
  }

  toJSON(): Record<string, unknown> {
    return this.#describe();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const view = this.#describe();
    return `RedisConnector { ${Object.entries(view)
      .map(([key, value]) => `${key}: ${typeof value === 'string' ? `'${value}'` : String(value)}`)
      .join(', ')} }`;
  }

  #describe(): Record<string, unknown> {
    return {
      host: this.#connection.host,
      port: this.#connection.port,
      tls: this.#connection.tls !== false,
      mode: this.#credentials.mode,
      user: this.#credentials.username ?? 'default',
      connections: this.#clients.size,
      closed: this.#closed,
    };
  }

  #createClient(override: PassedRedisOptions): Redis {
    const { host, port, tls } = this.#connection;
    let hooks: ConnectionHooks | undefined;
    let handshakeDone: (() => void) | undefined;
    const client = new Redis({
      ...this.#redisOptions,
      ...override,
      // For ioredis's own descriptions (tracing); the socket is opened by keyless's connector.
      host,
      port,
      Connector: socketConnectorFor({
        connection: this.#connection,
        onFatal: (error) => hooks?.ended(error),
        onHandshake: (done) => {
          handshakeDone = done;
        },
        onConnectionError: (error) => hooks?.connectionFailed(error),
      }),
      lazyConnect: true,
    });
    hooks = installConnectionHooks(client, {
      credentials: this.#credentials,
      errorContext: this.#errorContext,
      isClosed: () => this.#closed,
      onReady: (ready) => this.#connectionReady(ready),
      duplicate: (duplicateOverride) => this.duplicate(duplicateOverride ?? {}),
      describe: (described) => ({
        host,
        port,
        tls: tls !== false,
        user: this.#credentials.username ?? 'default',
        status: described.status,
      }),
    });
    client.on('ready', () => {
      handshakeDone?.();
      handshakeDone = undefined;
    });
    this.#clients.add(client);
    client.on('end', () => this.#clients.delete(client));
    return client;
  }

  /** Entra: a connection whose handshake used an older token than the current one re-AUTHs now. */
  #connectionReady(client: Redis): void {
    if (this.#credentials.mode !== 'entra' || this.#closed) return;
    if (handshakePasswordOf(client) === this.#credentials.password) return;
    void this.#reauthenticate(client).then((accepted) => {
      if (accepted) this.#emit('reauthenticated', this.#event(1));
    });
  }

  #credentialsChanged(): void {
    if (this.#closed) return;
    this.#emit('password-refreshed', this.#event());
    if (this.#credentials.mode !== 'entra') return;
    // Entra: every live connection authenticates again with the new token before the old one expires.
    const live = [...this.#clients].filter((client) => client.status === 'ready');
    void Promise.all(live.map((client) => this.#reauthenticate(client))).then((results) => {
      const accepted = results.filter(Boolean).length;
      if (accepted > 0) this.#emit('reauthenticated', this.#event(accepted));
    });
    this.#scheduleReauthentication();
  }

  /**
   * AUTH is queued behind the commands already sent on this connection, so it never splits a
   * MULTI/EXEC that ioredis writes as one pipeline, and works in RESP3 subscriber mode.
   */
  async #reauthenticate(client: Redis): Promise<boolean> {
    if (client.status !== 'ready') return false; // its next handshake uses the newest token
    const username = this.#credentials.username;
    const password = this.#credentials.password;
    try {
      if (username === undefined) await client.call('AUTH', password);
      else await client.call('AUTH', username, password);
      return true;
    } catch (error) {
      // The failed command carries the token in its arguments: nothing of it leaves this function.
      if (isAuthenticationFailure(error) && !this.#closed) {
        client.emit('error', mapRedisError(sanitizedCause(error), this.#errorContext));
      }
      return false;
    }
  }

  #scheduleReauthentication(delayMs?: number): void {
    if (this.#closed || this.#credentials.mode !== 'entra') return;
    const expiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    if (expiresOnTimestamp === undefined) return;
    if (this.#timer !== undefined) systemClock.clearTimer(this.#timer);
    const delay = delayMs ?? reauthenticationDelay(expiresOnTimestamp - systemClock.now());
    this.#timer = systemClock.setTimer(() => {
      this.#timer = undefined;
      void this.#reauthenticationDue();
    }, delay);
  }

  async #reauthenticationDue(): Promise<void> {
    if (this.#closed) return;
    const credentials = this.#credentials as EntraCredentials;
    try {
      const changed = await credentials.refresh();
      this.#failedRenewals = 0;
      // A new token re-AUTHs and reschedules through the change listener.
      if (!changed) {
        const now = systemClock.now();
        this.#scheduleReauthentication(
          retryDelay(now, credentials.refreshAfterTimestamp ?? now, credentials.expiresOnTimestamp ?? now),
        );
      }
    } catch {
      // The provider already reports refresh-failed; keep trying while the token is valid.
      this.#failedRenewals += 1;
      this.#scheduleReauthentication(
        backoffDelay(this.#failedRenewals, { baseDelayMs: 1000, maxDelayMs: 30_000 }),
      );
    }
  }

  #event(connections?: number): RedisConnectorEvent {
    const event: RedisConnectorEvent = { at: systemClock.now() };
    if (this.#credentials.expiresOnTimestamp !== undefined)
      event.expiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    if (connections !== undefined) event.connections = connections;
    return event;
  }

  #emit(name: RedisConnectorEventName, event: RedisConnectorEvent): void {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not break re-authentication.
      }
    }
  }
}

/** QUIT lets pending replies arrive; a connection that is down is just dropped. */
async function quitOrDisconnect(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
      timer.unref();
    }),
  ]);
  if (timer) clearTimeout(timer);
  if ((client.status as string) !== 'end') client.disconnect();
}
