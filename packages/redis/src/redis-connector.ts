import {
  ClosedError,
  isKeylessError,
  type KeylessError,
  type PasswordSource,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import {
  installRedactedViews,
  systemClock,
  TypedEmitter,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import type { Redis, RedisOptions } from 'ioredis';
import { type ConnectionHooks, installConnectionHooks } from './connection-hooks.js';
import { type ReauthenticationOutcome, reauthenticateConnection } from './connection-reauthentication.js';
import {
  handshakePasswordOf,
  ioredisReadiesBeforeAuthAnswers,
  readyAfterAuthAnswered,
  setHandshakeAuth,
} from './ioredis-internals.js';
import { ioredisLibrary } from './ioredis-library.js';
import { reauthenticationAnswerTimeout } from './reauthentication-schedule.js';
import type { RedisCredentials } from './redis-credentials.js';
import { bindRedisCredentials } from './redis-credentials-binding.js';
import { mapRedisError, type RedisErrorContext, sanitizedCause } from './redis-error-mapping.js';
import {
  type PassedRedisOptions,
  type RedisConnectorOptions,
  type ResolvedConnection,
  resolveConnection,
  resolvePassedRedisOptions,
} from './redis-options.js';
import { socketConnectorFor } from './redis-socket-connector.js';
import { TokenRenewalTimer } from './token-renewal-timer.js';

/** What a connector's event says; never the password or token. */
export interface RedisConnectorEvent {
  /** When it happened (milliseconds since the epoch). */
  at: number;
  /** Entra mode: when the newest token expires. */
  expiresOnTimestamp?: number;
  /** `reauthenticated`: how many live connections accepted the new token with `AUTH`. */
  connections?: number;
  /**
   * `reauthenticated`: how many live connections were reconnected instead, so that their handshake
   * sends the new token (subscribers over RESP2, and connections whose `AUTH` got no answer).
   */
  reconnected?: number;
  /**
   * `reauthentication-failed`: why (AuthenticationFailedError when the cache refused the new token,
   * or the token provider's error when no new token could be had). Never carries the token.
   */
  error?: KeylessError;
}

/** The events a Redis connector emits. */
export type RedisConnectorEventName = 'reauthenticated' | 'password-refreshed' | 'reauthentication-failed';

/** What `createRedisConnector()` returns: an ioredis client whose credentials stay fresh, and a lifetime. */
export interface RedisConnector {
  /**
   * The ioredis client (standalone), made on first use. Unless `redisOptions.lazyConnect` is set it
   * starts connecting then — fetching the password or token first — and commands wait for it, as
   * ioredis's own queue does. Throws ClosedError after close().
   */
  readonly client: Redis;
  /** Secret or Entra-token mode, as configured (the `kind` of the option `password`). */
  readonly mode: PasswordSource['kind'];
  /**
   * For a fail-fast start-up: fetches the password or token and waits until the client's first
   * connection is ready; rejects with the typed error otherwise (AuthenticationFailedError,
   * ServiceUnavailableError, ConfigurationError for an untrusted certificate or a missing secret,
   * …), and then stops the client instead of letting it reconnect in the background (calling
   * connect() again tries again). Resolves at once when the client is ready already. The factory
   * itself never connects.
   */
  connect(): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): resolves at once
   * while the client is ready — an in-process check, no command sent, so probes every few seconds do
   * not load the cache — and otherwise waits as `connect()` does, rejecting with its typed error
   * (the probe answers "not ready"). After `close()`, ClosedError.
   */
  ready(): Promise<void>;
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
   * `reauthentication-failed` (Entra): a live connection's `AUTH` with the new token was refused,
   * or no new token could be had; its `error` is the typed error. Azure closes a connection whose
   * token expires without a new `AUTH`, so this is worth an alert.
   */
  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void;
}

/**
 * ioredis with a password from Key Vault or an Entra token. Returns at once and does no I/O: the
 * password or token is fetched, and the first connection made, on first use — or by
 * `await connector.connect()`, which rejects with the typed error when they cannot be.
 *
 * A password or token leaves the process only over TLS verified against a trusted CA and the
 * host's name, or to this machine: every setting that would break that (in `tls`, `redisOptions`,
 * the port, the environment), and any other bad configuration, throws ConfigurationError here.
 */
export function createRedisConnector(options: RedisConnectorOptions): RedisConnector {
  warnAboutCredentialPrintingDebugOutput();
  const given = options ?? ({} as RedisConnectorOptions);
  // Options that would weaken or redirect the connection first: they name the exact option.
  const redisOptions = resolvePassedRedisOptions(given.redisOptions);
  const connection = resolveConnection(given);
  const { credentials, ownedProvider } = bindRedisCredentials(given);
  return new KeylessRedisConnector(connection, credentials, redisOptions, ownedProvider());
}

class KeylessRedisConnector implements RedisConnector {
  readonly mode: PasswordSource['kind'];
  readonly #connection: ResolvedConnection;
  readonly #credentials: RedisCredentials;
  readonly #redisOptions: PassedRedisOptions;
  readonly #ownedProvider: TokenProvider | undefined;
  readonly #errorContext: RedisErrorContext;
  readonly #clients = new Set<Redis>();
  readonly #emitter = new TypedEmitter<Record<RedisConnectorEventName, RedisConnectorEvent>>();
  #main: Redis | undefined;
  #connecting: Promise<void> | undefined;
  #firstCredentials: Promise<void> | undefined;
  readonly #renewal: TokenRenewalTimer;
  /** Entra: when the newest token expires, and the one before it (live connections may use it still). */
  #newestExpiresOnTimestamp: number | undefined;
  #previousExpiresOnTimestamp: number | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    connection: ResolvedConnection,
    credentials: RedisCredentials,
    redisOptions: PassedRedisOptions,
    ownedProvider: TokenProvider | undefined,
  ) {
    this.#connection = connection;
    this.#credentials = credentials;
    this.#renewal = new TokenRenewalTimer(credentials, (error) =>
      this.#reauthenticationFailed(
        isKeylessError(error) ? (error as KeylessError) : this.#typedReauthenticationError(error),
      ),
    );
    this.#redisOptions = redisOptions;
    this.#ownedProvider = ownedProvider;
    this.mode = credentials.kind;
    this.#errorContext = credentials.errorContext(connection.host, connection.port);
    credentials.onChange(() => this.#credentialsChanged());
    // Where, as whom, which secret or scope — never the password or token.
    installRedactedViews(this, () => this.#describe(), 'RedisConnector');
  }

  get client(): Redis {
    if (this.#closed) throw new ClosedError('RedisConnector');
    if (this.#main === undefined) {
      this.#main = this.#createClient({ lazyConnect: true });
      if (this.#redisOptions.lazyConnect !== true) this.#main.connect().catch(() => {});
    }
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
    return this.#emitter.on(event, listener);
  }

  ready(): Promise<void> {
    // connect() resolves at once when the client is ready: the probe's steady state sends nothing.
    return this.connect();
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('RedisConnector'));
    const client = this.client;
    if (client.status === 'ready') return Promise.resolve();
    this.#connecting ??= this.#untilReady(client).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Settles with the client's next `ready`, or its first error, mapped. */
  #untilReady(client: Redis): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = () => {
        client.off('ready', onReady);
        client.off('error', onError);
        client.off('end', onEnd);
      };
      const onReady = () => {
        stop();
        resolve();
      };
      const onError = (error: unknown) => {
        stop();
        // A start-up that failed leaves nothing running (ioredis would reconnect and report each
        // failure to nobody): the next connect() tries again.
        if (client.status !== 'end') client.disconnect();
        const mapped = mapRedisError(error, this.#errorContext);
        // Anything we do not map still loses the command arguments ioredis attaches.
        reject(mapped !== error || isKeylessError(error) ? mapped : sanitizedCause(error));
      };
      const onEnd = () => {
        stop();
        reject(
          this.#closed
            ? new ClosedError('RedisConnector')
            : new ServiceUnavailableError(
                `the connection to Redis at ${this.#connection.host}:${this.#connection.port} ended before it was ready`,
              ),
        );
      };
      client.once('ready', onReady);
      client.on('error', onError);
      client.once('end', onEnd);
      if (client.status === 'wait' || client.status === 'end') {
        client.connect().catch(() => {
          // Settled by the events above: ioredis also rejects here while it recovers on its own.
        });
      }
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#renewal.stop();
    await Promise.all([...this.#clients].map((client) => quitOrDisconnect(client)));
    this.#clients.clear();
    this.#emitter.removeAll();
    await this.#credentials.close();
    await this.#ownedProvider?.close();
  }

  #describe(): Record<string, unknown> {
    return {
      host: this.#connection.host,
      port: this.#connection.port,
      tls: this.#connection.tls !== false,
      ...this.#credentials.description,
      user: this.#credentials.user ?? 'default',
      connections: this.#clients.size,
      closed: this.#closed,
    };
  }

  /**
   * Before each (re)connect of any client: the first password or token is fetched once for all of
   * them (a failure lets the next connect ask again), then put into the handshake now starting.
   */
  async #beforeConnect(client: Redis): Promise<void> {
    if (this.#credentials.password === undefined) {
      this.#firstCredentials ??= this.#credentials.ready().then(
        () => {
          this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
          this.#renewal.schedule();
        },
        (error: unknown) => {
          this.#firstCredentials = undefined;
          throw error;
        },
      );
      await this.#firstCredentials;
    }
    const password = this.#credentials.password;
    if (password !== undefined) setHandshakeAuth(client, this.#credentials.user, password);
  }

  #createClient(override: PassedRedisOptions): Redis {
    const { host, port, tls } = this.#connection;
    let hooks: ConnectionHooks | undefined;
    let handshakeDone: (() => void) | undefined;
    const client: Redis = new (ioredisLibrary().Redis)({
      // ioredis's ready check sends INFO, which is @dangerous: Azure's Data Contributor and Data
      // Reader access policies refuse it, and ioredis then warns on every (re)connect and skips the
      // check anyway. It only waits for a server loading its dataset, and no command that every
      // policy allows both passes ioredis's handshake gate and reports loading. Off unless asked
      // for (with Data Owner or access keys it works as in ioredis).
      // ioredis 5 needs a ready check to hold queued commands until AUTH is answered: keyless's
      // own, which every policy allows (ioredis-internals.ts, 10).
      enableReadyCheck: ioredisReadiesBeforeAuthAnswers(),
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
        beforeConnect: (): Promise<void> => this.#beforeConnect(client),
      }),
      lazyConnect: true,
    });
    if (ioredisReadiesBeforeAuthAnswers() && this.#redisOptions.enableReadyCheck === undefined) {
      readyAfterAuthAnswered(client);
    }
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
        user: this.#credentials.user ?? 'default',
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
    if (this.#credentials.kind !== 'entra-token' || this.#closed) return;
    if (handshakePasswordOf(client) === this.#credentials.password) return;
    void this.#reauthenticateAll([client]);
  }

  #credentialsChanged(): void {
    if (this.#closed) return;
    this.#emitter.emit('password-refreshed', this.#event());
    if (this.#credentials.kind !== 'entra-token') return;
    this.#previousExpiresOnTimestamp = this.#newestExpiresOnTimestamp;
    this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    // Entra: every live connection authenticates again with the new token before the old one expires.
    void this.#reauthenticateAll([...this.#clients]);
    this.#renewal.schedule();
  }

  /** Re-AUTHs `clients` with the newest token; reports what they came to, failures included. */
  async #reauthenticateAll(clients: Redis[]): Promise<void> {
    const password = this.#credentials.password;
    if (password === undefined) return;
    const login = { user: this.#credentials.user, password };
    const now = systemClock.now();
    const answerTimeoutMs = reauthenticationAnswerTimeout(
      (this.#previousExpiresOnTimestamp ?? this.#credentials.expiresOnTimestamp ?? now) - now,
    );
    const outcomes = await Promise.all(
      clients.map((client) =>
        reauthenticateConnection(client, login, answerTimeoutMs).then(
          (outcome) => ({ client, outcome }),
          (error: unknown): { client: Redis; outcome: ReauthenticationOutcome } => ({
            client,
            outcome: { kind: 'failed', error },
          }),
        ),
      ),
    );
    if (this.#closed) return;
    let accepted = 0;
    let reconnected = 0;
    for (const { client, outcome } of outcomes) {
      if (outcome.kind === 'accepted') accepted += 1;
      else if (outcome.kind === 'reconnected') reconnected += 1;
      else if (outcome.kind === 'refused' || outcome.kind === 'failed') {
        this.#reauthenticationFailed(this.#typedReauthenticationError(outcome.error), client);
      }
    }
    if (accepted + reconnected > 0) {
      const event = this.#event(accepted);
      if (reconnected > 0) event.reconnected = reconnected;
      this.#emitter.emit('reauthenticated', event);
    }
  }

  /** A refused token maps to AuthenticationFailedError; anything else to the unavailable cache. */
  #typedReauthenticationError(error: unknown): KeylessError {
    // The failed command carries the token in its arguments: nothing of it leaves this function.
    const cause = sanitizedCause(error);
    const mapped = mapRedisError(cause, this.#errorContext);
    if (isKeylessError(mapped)) return mapped as KeylessError;
    return new ServiceUnavailableError(
      `Redis at ${this.#connection.host}:${this.#connection.port} did not accept the re-AUTH with a new token; the connection was reconnected to log in with it`,
      { cause },
    );
  }

  /** Never swallowed: the connector's event always, and the client's 'error' when it is listened to. */
  #reauthenticationFailed(error: KeylessError, client?: Redis): void {
    if (this.#closed) return;
    const event = this.#event();
    event.error = error;
    this.#emitter.emit('reauthentication-failed', event);
    // ioredis reports through 'error' events; emitting one nobody listens to would throw.
    if (client !== undefined && client.listenerCount('error') > 0) client.emit('error', error);
  }

  #event(connections?: number): RedisConnectorEvent {
    const event: RedisConnectorEvent = { at: systemClock.now() };
    if (this.#credentials.expiresOnTimestamp !== undefined)
      event.expiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    if (connections !== undefined) event.connections = connections;
    return event;
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
