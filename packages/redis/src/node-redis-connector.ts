import {
  ClosedError,
  ConfigurationError,
  findKeylessError,
  isKeylessError,
  type KeylessError,
  type PasswordSource,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import {
  backoffDelay,
  certificateFailureCode,
  installRedactedViews,
  systemClock,
  TypedEmitter,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import type { RedisClientType } from 'redis';
import { type BasicAuth, KeylessStreamingCredentials } from './node-redis-credentials-provider.js';
import {
  abandonNodeRedisClient,
  applicationReconnectDecision,
  NodeRedisHandshake,
} from './node-redis-handshake.js';
import { nodeRedisLibrary } from './node-redis-library.js';
import {
  type NodeRedisConnectorOptions,
  type PassedNodeRedisOptions,
  type PassedNodeRedisSocketOptions,
  resolvePassedNodeRedisOptions,
} from './node-redis-options.js';
import { guardNodeRedisWrites, type NodeRedisConnectionWatch } from './node-redis-write-guard.js';
import { reauthenticationAnswerTimeout } from './reauthentication-schedule.js';
import type { RedisConnectorEvent, RedisConnectorEventName } from './redis-connector.js';
import type { RedisCredentials } from './redis-credentials.js';
import { bindRedisCredentials } from './redis-credentials-binding.js';
import {
  isAuthenticationFailure,
  mapRedisError,
  type RedisErrorContext,
  sanitizedCause,
} from './redis-error-mapping.js';
import { assertConnectionDestination, type ResolvedConnection, resolveConnection } from './redis-options.js';
import { TokenRenewalTimer } from './token-renewal-timer.js';

/** A node-redis v5 client (`createClient()` of the npm package `redis`). */
export type NodeRedisClient = RedisClientType;

/** What `createNodeRedisConnector()` returns: a node-redis client whose credentials stay fresh, and a lifetime. */
export interface NodeRedisConnector {
  /**
   * The node-redis client, made on first use and connecting from then on (do not call its
   * `connect()`: it is open already); commands wait in node-redis's offline queue until it is ready.
   * Throws ClosedError after close().
   */
  readonly client: NodeRedisClient;
  /** Secret or Entra-token mode, as configured. */
  readonly mode: PasswordSource['kind'];
  /**
   * For a fail-fast start-up: waits until the client's first connection is ready; rejects with the
   * typed error otherwise (AuthenticationFailedError once a freshly fetched password or token was
   * refused too, ServiceUnavailableError, ConfigurationError for an untrusted certificate or a
   * missing secret, …) and then stops the client (calling connect() again tries again).
   */
  connect(): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): resolves at once
   * while the client is ready — an in-process check, no command sent, so probes every few seconds do
   * not load the cache — and otherwise waits as `connect()` does, rejecting with its typed error
   * (the probe answers "not ready"). After `close()`, ClosedError.
   */
  ready(): Promise<void>;
  /** Another client with the same settings and credentials, kept re-authenticated; `client.duplicate()` does the same. */
  duplicate(overrides?: PassedNodeRedisOptions): NodeRedisClient;
  /** Idempotent: closes every client, stops timers, closes what the connector built. */
  close(): Promise<void>;
  /** The same events as `createRedisConnector()`'s (see RedisConnector.on). */
  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void;
}

/**
 * node-redis v5 with a password from Key Vault or an Entra token, through node-redis's
 * streaming-credentials interface. Returns at once and does no I/O (node-redis itself loads at the
 * first client); the same options, rules and errors as `createRedisConnector()`, with
 * `clientOptions` for node-redis instead of `redisOptions`.
 */
export function createNodeRedisConnector(options: NodeRedisConnectorOptions): NodeRedisConnector {
  warnAboutCredentialPrintingDebugOutput();
  const given = options ?? ({} as NodeRedisConnectorOptions);
  if (Object.hasOwn(given, 'redisOptions')) {
    throw new ConfigurationError('Invalid option `redisOptions` for createNodeRedisConnector()', {
      hint: '`redisOptions` are ioredis options (createRedisConnector() of @keyless/redis); node-redis options go in `clientOptions`',
    });
  }
  const clientOptions = resolvePassedNodeRedisOptions(given.clientOptions);
  const connection = resolveConnection(given);
  const { credentials, ownedProvider } = bindRedisCredentials(given);
  return new KeylessNodeRedisConnector(connection, credentials, clientOptions, ownedProvider);
}

/** One client the connector made, and what keyless knows about its connection. */
interface TrackedClient {
  client: NodeRedisClient;
  credentials: KeylessStreamingCredentials;
  /** Handshakes refused in a row (WRONGPASS/NOAUTH); reset when the client is ready. */
  refusals: number;
  /** The password or token the latest handshake sent, to tell the binding which one was refused. */
  handedPassword: string | undefined;
  /** The outcome of the `AUTH` node-redis is sending with the newest token, if any. */
  reauthentication: Promise<void> | undefined;
  lastRenewalAt: number;
  /** Its connection, as the write guard sees it (node-redis-write-guard.ts). */
  watch: NodeRedisConnectionWatch | undefined;
}

type ReauthenticationOutcome = 'accepted' | 'skipped' | { error: KeylessError };

class KeylessNodeRedisConnector implements NodeRedisConnector {
  readonly mode: PasswordSource['kind'];
  readonly #connection: ResolvedConnection;
  readonly #credentials: RedisCredentials;
  readonly #clientOptions: PassedNodeRedisOptions;
  readonly #ownedProvider: () => TokenProvider | undefined;
  readonly #errorContext: RedisErrorContext;
  readonly #clients = new Map<NodeRedisClient, TrackedClient>();
  readonly #emitter = new TypedEmitter<Record<RedisConnectorEventName, RedisConnectorEvent>>();
  #main: TrackedClient | undefined;
  #connecting: Promise<void> | undefined;
  readonly #handshake: NodeRedisHandshake;
  readonly #renewal: TokenRenewalTimer;
  #newestExpiresOnTimestamp: number | undefined;
  #previousExpiresOnTimestamp: number | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    connection: ResolvedConnection,
    credentials: RedisCredentials,
    clientOptions: PassedNodeRedisOptions,
    ownedProvider: () => TokenProvider | undefined,
  ) {
    this.#connection = connection;
    this.#credentials = credentials;
    this.#handshake = new NodeRedisHandshake(credentials, () => {
      this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
      this.#renewal.schedule();
    });
    this.#renewal = new TokenRenewalTimer(credentials, (error) =>
      this.#reauthenticationFailed(
        isKeylessError(error) ? (error as KeylessError) : this.#typedReauthenticationError(error),
      ),
    );
    this.#clientOptions = clientOptions;
    this.#ownedProvider = ownedProvider;
    this.mode = credentials.kind;
    this.#errorContext = credentials.errorContext(connection.host, connection.port);
    credentials.onChange(() => this.#credentialsChanged());
    installRedactedViews(this, () => this.#describe(), 'NodeRedisConnector');
  }

  get client(): NodeRedisClient {
    if (this.#closed) throw new ClosedError('NodeRedisConnector');
    if (this.#main === undefined) {
      this.#main = this.#createClient({});
      this.#main.client.connect().catch(() => {
        // Reported through 'error' events and the commands; connect() gives the typed error.
      });
    }
    return this.#main.client;
  }

  duplicate(overrides: PassedNodeRedisOptions = {}): NodeRedisClient {
    if (this.#closed) throw new ClosedError('NodeRedisConnector');
    const checked = resolvePassedNodeRedisOptions(overrides, 'duplicate(overrides)');
    const tracked = this.#createClient(checked);
    // As node-redis's own duplicate(): the caller connects it.
    return tracked.client;
  }

  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  ready(): Promise<void> {
    // connect() resolves at once when the client is ready: the probe's steady state sends nothing.
    return this.connect();
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('NodeRedisConnector'));
    this.#main ??= this.#createClient({});
    const tracked = this.#main;
    if (tracked.client.isReady) return Promise.resolve();
    this.#connecting ??= this.#untilReady(tracked).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #untilReady(tracked: TrackedClient): Promise<void> {
    const { client } = tracked;
    return new Promise<void>((resolve, reject) => {
      const stop = () => {
        client.off('ready', onReady);
        client.off('error', onError);
      };
      const onReady = () => {
        stop();
        resolve();
      };
      const onError = (error: unknown) => {
        // The first refusal is being recovered from: the next handshake uses a fresh password.
        if (isAuthenticationFailure(error) && tracked.refusals < 2) return;
        stop();
        // A start-up that failed leaves nothing running: the next connect() tries again.
        if (client.isOpen) client.destroy();
        reject(this.#typed(error));
      };
      client.on('ready', onReady);
      client.on('error', onError);
      if (!client.isOpen) {
        client.connect().catch((error: unknown) => {
          // Usually settled by the events above; a stop by the reconnect strategy lands here too.
          stop();
          reject(this.#typed(error));
        });
      }
    });
  }

  /** What a failure is to the application: typed where the cause is keyless's to explain. */
  #typed(error: unknown): unknown {
    if (this.#closed) return new ClosedError('NodeRedisConnector');
    // node-redis wraps the cause of a stop by the reconnect strategy (ReconnectStrategyError).
    const cause = (error as { originalError?: unknown; socketError?: unknown } | null)?.socketError ?? error;
    const keyless =
      findKeylessError(cause) ?? findKeylessError((error as { originalError?: unknown })?.originalError);
    if (keyless) return keyless;
    const mapped = mapRedisError(cause, this.#errorContext);
    return mapped !== cause || isKeylessError(cause) ? mapped : sanitizedCause(cause);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#renewal.stop();
    await Promise.all([...this.#clients.values()].map((tracked) => closeClient(tracked)));
    this.#clients.clear();
    this.#emitter.removeAll();
    await this.#credentials.close();
    await this.#ownedProvider()?.close();
  }

  #describe(): Record<string, unknown> {
    return {
      client: 'node-redis',
      host: this.#connection.host,
      port: this.#connection.port,
      tls: this.#connection.tls !== false,
      ...this.#credentials.description,
      user: this.#credentials.user ?? 'default',
      connections: this.#clients.size,
      closed: this.#closed,
    };
  }

  #createClient(overrides: PassedNodeRedisOptions): TrackedClient {
    const { createClient } = nodeRedisLibrary();
    const options = { ...this.#clientOptions, ...overrides };
    const socketOptions = { ...this.#clientOptions.socket, ...overrides.socket };
    const userStrategy = socketOptions.reconnectStrategy;
    const { host, port, tls } = this.#connection;
    // Declared before the client: node-redis may call the provider during createClient()'s tick.
    const tracked = {
      refusals: 0,
      handedPassword: undefined,
      reauthentication: undefined,
      lastRenewalAt: Number.NEGATIVE_INFINITY,
      watch: undefined,
    } as unknown as TrackedClient;
    tracked.credentials = new KeylessStreamingCredentials(
      () => this.#handshakeCredentials(tracked),
      (error) => this.#reauthenticationFailed(this.#typedReauthenticationError(error), tracked),
    );
    const client = createClient({
      ...options,
      credentialsProvider: tracked.credentials,
      socket: {
        ...socketOptions,
        // Exactly host:port, TLS verified against the host's name with Node's CA store (plus `ca`),
        // set explicitly so that NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch it off; node-redis
        // passes these to tls.connect(), which checks the certificate before anything is written.
        host,
        port,
        ...(tls === false
          ? {}
          : {
              tls: true as const,
              rejectUnauthorized: true,
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            }),
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#reconnectDecision(tracked, retries, cause, userStrategy),
      },
    }) as unknown as NodeRedisClient;
    tracked.client = client;
    tracked.watch = guardNodeRedisWrites(client);
    this.#observeReauthentication(tracked);
    // node-redis throws an 'error' nobody listens to; the connector listens, and maps what it can.
    client.on('error', () => {});
    client.on('ready', () => {
      tracked.refusals = 0;
      this.#connectionReady(tracked);
    });
    client.on('end', () => {
      if (!client.isOpen) {
        tracked.credentials.stop();
        this.#clients.delete(client);
      }
    });
    // Duplicates go through the connector: each needs its own provider (see KeylessStreamingCredentials).
    Object.defineProperty(client, 'duplicate', {
      value: (duplicateOverrides?: PassedNodeRedisOptions) => this.duplicate(duplicateOverrides ?? {}),
      configurable: true,
      writable: true,
    });
    installRedactedViews(
      client,
      () => ({
        host,
        port,
        tls: tls !== false,
        user: this.#credentials.user ?? 'default',
        open: client.isOpen,
        ready: client.isReady,
      }),
      'NodeRedisClient',
    );
    this.#clients.set(client, tracked);
    return tracked;
  }

  /**
   * In every handshake, before anything is written: the transport rule again (it reads
   * NODE_TLS_REJECT_UNAUTHORIZED as Node does), a recovery from a refused login, then the newest
   * password or token (the first one fetched once for every client).
   */
  async #handshakeCredentials(tracked: TrackedClient): Promise<BasicAuth> {
    if (this.#closed) throw new ClosedError('NodeRedisConnector');
    assertConnectionDestination(this.#connection, process.env);
    const connection = tracked.watch?.connections;
    const { auth, password } = await this.#handshake.next();
    // The socket failed while the password was awaited: node-redis would wait for the handshake's
    // replies on it forever (node-redis-write-guard.ts). Failing the handshake makes it connect again.
    if (connection !== undefined && tracked.watch?.failedDuring(connection)) {
      throw new ServiceUnavailableError('the Redis connection closed during its handshake');
    }
    tracked.handedPassword = password;
    return auth;
  }

  /**
   * Asked by node-redis after each failed (re)connect. A refused login renews the password (the
   * Key Vault secret fetched afresh, as the ioredis path does) and retries at once, then with
   * backoff; a refusal asking again cannot cure (an untrusted certificate, a missing secret, a
   * remote plaintext destination) stops the client with the typed error; anything else is the
   * application's strategy, or node-redis's default.
   */
  #reconnectDecision(
    tracked: TrackedClient,
    retries: number,
    cause: Error,
    userStrategy: PassedNodeRedisSocketOptions['reconnectStrategy'],
  ): number | false | Error {
    if (this.#closed) return false;
    const keyless = findKeylessError(cause);
    if (keyless !== undefined && !keyless.retryable) return keyless as Error;
    if (certificateFailureCode(cause) !== undefined) return this.#typed(cause) as Error;
    if (isAuthenticationFailure(cause)) {
      tracked.refusals += 1;
      const now = systemClock.now();
      const due = backoffDelay(tracked.refusals - 1, { baseDelayMs: 1000, maxDelayMs: 30_000 });
      if (tracked.refusals === 1 || now - tracked.lastRenewalAt >= due) {
        tracked.lastRenewalAt = now;
        this.#handshake.recover(tracked.handedPassword);
      }
      return tracked.refusals === 1 ? 0 : due;
    }
    return applicationReconnectDecision(retries, cause, userStrategy);
  }

  /**
   * node-redis sends the re-AUTH through its instance method `reAuthenticate` when the provider
   * calls `onNext`, and reports only a failure's message. Wrapped (an own property of the
   * instance) so that each connection's outcome is known — counted in `reauthenticated`, typed in
   * `reauthentication-failed`. Without it (another node-redis), AUTH is still sent; only the counts go.
   */
  #observeReauthentication(tracked: TrackedClient): void {
    // createClient() returns Object.create(instance); node-redis calls `this.reAuthenticate` on the
    // instance itself (`_self`), so the wrapper goes there.
    const proxy = tracked.client as unknown as { _self?: object };
    const internal = (proxy._self ?? proxy) as {
      reAuthenticate?: (credentials: BasicAuth) => Promise<void>;
    };
    const original = internal.reAuthenticate;
    if (typeof original !== 'function') return;
    internal.reAuthenticate = (credentials: BasicAuth) => {
      const sent = original.call(internal, credentials);
      tracked.reauthentication = sent;
      return sent;
    };
  }

  #connectionReady(tracked: TrackedClient): void {
    if (this.#credentials.kind !== 'entra-token' || this.#closed) return;
    // A handshake that used an older token than the current one re-AUTHs now.
    if (tracked.handedPassword !== this.#credentials.password) void this.#reauthenticateAll([tracked]);
  }

  #credentialsChanged(): void {
    if (this.#closed) return;
    this.#emitter.emit('password-refreshed', this.#event());
    if (this.#credentials.kind !== 'entra-token') return;
    this.#previousExpiresOnTimestamp = this.#newestExpiresOnTimestamp;
    this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    void this.#reauthenticateAll([...this.#clients.values()]);
    this.#renewal.schedule();
  }

  async #reauthenticateAll(clients: TrackedClient[]): Promise<void> {
    const password = this.#credentials.password;
    if (password === undefined) return;
    const credentials: BasicAuth = { password };
    if (this.#credentials.user !== undefined) credentials.username = this.#credentials.user;
    const now = systemClock.now();
    const answerTimeoutMs = reauthenticationAnswerTimeout(
      (this.#previousExpiresOnTimestamp ?? this.#credentials.expiresOnTimestamp ?? now) - now,
    );
    const outcomes = await Promise.all(
      clients.map(async (tracked) => ({
        tracked,
        outcome: await this.#reauthenticate(tracked, credentials, password, answerTimeoutMs),
      })),
    );
    if (this.#closed) return;
    let accepted = 0;
    for (const { tracked, outcome } of outcomes) {
      if (outcome === 'accepted') accepted += 1;
      else if (outcome !== 'skipped') this.#reauthenticationFailed(outcome.error, tracked);
    }
    if (accepted > 0) this.#emitter.emit('reauthenticated', this.#event(accepted));
  }

  /** One connection's re-AUTH: node-redis sends it when the provider hands the token on. */
  async #reauthenticate(
    tracked: TrackedClient,
    credentials: BasicAuth,
    password: string,
    answerTimeoutMs: number,
  ): Promise<ReauthenticationOutcome> {
    const { client } = tracked;
    // Not connected: its next handshake takes the newest token anyway.
    if (!client.isReady || !tracked.credentials.subscribed) return 'skipped';
    if (client.isPubSubActive && this.#clientOptions.RESP !== 3) {
      // node-redis does not send AUTH on a RESP2 connection in subscriber mode (Redis refuses it there).
      return {
        error: new ConfigurationError(
          `A node-redis subscriber over RESP2 cannot re-authenticate with a new Entra token; Redis at ${this.#connection.host}:${this.#connection.port} closes it when its token expires`,
          {
            hint: 'give the connector `clientOptions: { RESP: 3 }`: over RESP3 node-redis sends AUTH on a subscribed connection too',
          },
        ),
      };
    }
    tracked.reauthentication = undefined;
    tracked.credentials.push(credentials);
    tracked.handedPassword = password;
    const sent = tracked.reauthentication as Promise<void> | undefined;
    if (sent === undefined) return 'skipped';
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sent,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ServiceUnavailableError(
                  `Redis at ${this.#connection.host}:${this.#connection.port} did not answer the re-AUTH with a new token within ${answerTimeoutMs} ms (a command ahead of it may block, e.g. BLPOP 0)`,
                  { hint: 'run blocking commands with a timeout below the token lifetime, on a duplicate()' },
                ),
              ),
            answerTimeoutMs,
          );
          timer.unref();
        }),
      ]);
      return 'accepted';
    } catch (error) {
      return { error: this.#typedReauthenticationError(error) };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  #typedReauthenticationError(error: unknown): KeylessError {
    if (isKeylessError(error)) return error as KeylessError;
    const cause = sanitizedCause(error);
    // node-redis's CredentialsError keeps the reply in its message.
    const mapped = mapRedisError(cause, this.#errorContext);
    if (isKeylessError(mapped)) return mapped as KeylessError;
    if (/WRONGPASS|NOAUTH|invalid (username-)?password/i.test((cause as Error)?.message ?? '')) {
      const retyped = mapRedisError(new Error('WRONGPASS'), this.#errorContext);
      if (isKeylessError(retyped)) return retyped as KeylessError;
    }
    return new ServiceUnavailableError(
      `Redis at ${this.#connection.host}:${this.#connection.port} did not accept the re-AUTH with a new token`,
      { cause },
    );
  }

  /** Never swallowed: the connector's event always, and the client's 'error' for its own listeners. */
  #reauthenticationFailed(error: KeylessError, tracked?: TrackedClient): void {
    if (this.#closed) return;
    const event = this.#event();
    event.error = error;
    this.#emitter.emit('reauthentication-failed', event);
    // The connector's own listener is one; emit only when the application listens too.
    if (tracked !== undefined && tracked.client.listenerCount('error') > 1)
      tracked.client.emit('error', error);
  }

  #event(connections?: number): RedisConnectorEvent {
    const event: RedisConnectorEvent = { at: systemClock.now() };
    if (this.#credentials.expiresOnTimestamp !== undefined)
      event.expiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    if (connections !== undefined) event.connections = connections;
    return event;
  }
}

/** close() lets pending replies arrive (bounded); a client that is not open is just stopped. */
async function closeClient(tracked: TrackedClient): Promise<void> {
  const { client } = tracked;
  tracked.credentials.stop();
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  await Promise.race([
    client.close().then(
      () => {
        closed = true;
      },
      () => {
        closed = true;
      },
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
      timer.unref();
    }),
  ]);
  if (timer) clearTimeout(timer);
  // close() reads the client as closed at once (isOpen is false): what is left is abandoned.
  if (!closed) abandonNodeRedisClient(client);
}
