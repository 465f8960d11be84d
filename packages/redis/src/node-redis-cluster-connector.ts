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
import type { RedisClusterType } from 'redis';
import {
  type NodeRedisClusterConnectorOptions,
  type NodeRedisNodeAddress,
  type NodeRedisNodeAddressMap,
  type PassedNodeRedisClusterOptions,
  resolveNodeAddressMap,
  resolvePassedNodeRedisClusterOptions,
} from './node-redis-cluster-options.js';
import { type BasicAuth, KeylessStreamingCredentials } from './node-redis-credentials-provider.js';
import {
  abandonNodeRedisClient,
  applicationReconnectDecision,
  NodeRedisHandshake,
} from './node-redis-handshake.js';
import { nodeRedisLibrary } from './node-redis-library.js';
import {
  type PassedNodeRedisOptions,
  type PassedNodeRedisSocketOptions,
  resolvePassedNodeRedisOptions,
} from './node-redis-options.js';
import { guardNodeRedisWrites, type NodeRedisConnectionWatch } from './node-redis-write-guard.js';
import { reauthenticationAnswerTimeout } from './reauthentication-schedule.js';
import {
  nodeConnection,
  resolveClusterTls,
  resolveSeedNodes,
  type SeedNode,
} from './redis-cluster-options.js';
import type { RedisConnectorEvent, RedisConnectorEventName } from './redis-connector.js';
import type { RedisCredentials } from './redis-credentials.js';
import { bindRedisCredentials } from './redis-credentials-binding.js';
import {
  isAuthenticationFailure,
  mapRedisError,
  type RedisErrorContext,
  sanitizedCause,
} from './redis-error-mapping.js';
import { assertConnectionDestination, type ResolvedConnection } from './redis-options.js';
import { TokenRenewalTimer } from './token-renewal-timer.js';

/** A node-redis v5 cluster (`createCluster()` of the npm package `redis`). */
export type NodeRedisCluster = RedisClusterType;

/** What `createNodeRedisClusterConnector()` returns: a node-redis cluster whose node connections keep fresh credentials. */
export interface NodeRedisClusterConnector {
  /**
   * The node-redis cluster, made on first use and connecting from then on. node-redis's cluster
   * has no queue before it knows the slots: `await connector.connect()` before the first command
   * (as `await createCluster(…).connect()`). Throws ClosedError after close().
   */
  readonly client: NodeRedisCluster;
  readonly mode: PasswordSource['kind'];
  /**
   * Fail-fast start-up: resolves once the cluster knows its slots and the seed accepted the login;
   * rejects with the typed error (a refused login, after one retry with a freshly fetched password
   * or token: AuthenticationFailedError). Calling it again tries again.
   */
  connect(): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): resolves at once
   * while the cluster is ready — an in-process check, no command sent, so probes every few seconds do
   * not load the cache — and otherwise waits as `connect()` does, rejecting with its typed error
   * (the probe answers "not ready"). After `close()`, ClosedError.
   */
  ready(): Promise<void>;
  /** Another cluster with the same settings and credentials (node-redis's `duplicate()` does the same); closed by close(). */
  duplicate(overrides?: PassedNodeRedisClusterOptions): NodeRedisCluster;
  /** Idempotent: closes every cluster, stops timers, closes what the connector built. */
  close(): Promise<void>;
  /** The events of `createRedisConnector()`; `connections` counts node connections (pub/sub ones included). */
  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void;
}

/**
 * node-redis v5 `createCluster` with a password from Key Vault or an Entra token. Every node
 * connection node-redis opens — masters, replicas (`useReplicas`), the pub/sub and sharded pub/sub
 * connections, nodes it discovers later — gets its own keyless credentials provider, so each takes
 * the newest password or token at every handshake and Entra tokens are re-sent with `AUTH` on every
 * live node connection before they expire. Returns at once and does no I/O.
 */
export function createNodeRedisClusterConnector(
  options: NodeRedisClusterConnectorOptions,
): NodeRedisClusterConnector {
  warnAboutCredentialPrintingDebugOutput();
  const given = options ?? ({} as NodeRedisClusterConnectorOptions);
  for (const ioredisOnly of ['redisOptions', 'natMap'] as const) {
    if (Object.hasOwn(given, ioredisOnly)) {
      throw new ConfigurationError(
        `Invalid option \`${ioredisOnly}\` for createNodeRedisClusterConnector()`,
        {
          hint:
            ioredisOnly === 'natMap'
              ? "`natMap` is ioredis's (createRedisClusterConnector()); node-redis calls it `nodeAddressMap`"
              : '`redisOptions` are ioredis options (createRedisClusterConnector()); node-redis options of every node go in `clientOptions`',
        },
      );
    }
  }
  const clusterOptions = resolvePassedNodeRedisClusterOptions(given.clusterOptions);
  const clientOptions = resolvePassedNodeRedisOptions(given.clientOptions);
  const nodeAddressMap = resolveNodeAddressMap(given.nodeAddressMap);
  const seeds = resolveSeedNodes(given.nodes);
  const tls = resolveClusterTls(given.tls);
  // Seeds are checked now; announced (and mapped) addresses before each node connection is made.
  for (const seed of seeds) assertConnectionDestination(nodeConnection(seed, tls));
  const { credentials, ownedProvider } = bindRedisCredentials(given);
  return new KeylessNodeRedisClusterConnector({
    seeds,
    tls,
    credentials,
    clientOptions,
    clusterOptions,
    nodeAddressMap,
    ownedProvider,
  });
}

interface ClusterSettings {
  seeds: SeedNode[];
  tls: ResolvedConnection['tls'];
  credentials: RedisCredentials;
  clientOptions: PassedNodeRedisOptions;
  clusterOptions: PassedNodeRedisClusterOptions;
  nodeAddressMap: NodeRedisNodeAddressMap | undefined;
  ownedProvider: () => TokenProvider | undefined;
}

/** What keyless knows about one node connection, by its credentials provider (one per node client). */
interface NodeState {
  /** The password or token its latest handshake (or re-AUTH) sent. */
  handedPassword: string | undefined;
  /** Its connection, as the write guard sees it (node-redis-write-guard.ts); set at its first handshake. */
  watch: NodeRedisConnectionWatch | undefined;
}

/** The part of a node-redis node client keyless looks at (its public getters, and `_self`, the instance). */
interface NodeClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly isPubSubActive: boolean;
  readonly options?: { credentialsProvider?: unknown };
  _self?: NodeClient;
  reAuthenticate?: (credentials: BasicAuth) => Promise<void>;
}

/** The node-redis cluster's public view of its nodes (`masters`, `replicas`, `pubSubNode`). */
interface ClusterNodes {
  masters: { client?: NodeClient; pubSub?: { client?: NodeClient } }[];
  replicas: { client?: NodeClient }[];
  pubSubNode?: { client?: NodeClient };
}

type ReauthenticationOutcome = 'accepted' | 'skipped' | { error: KeylessError };

class KeylessNodeRedisClusterConnector implements NodeRedisClusterConnector {
  readonly mode: PasswordSource['kind'];
  readonly #settings: ClusterSettings;
  readonly #credentials: RedisCredentials;
  readonly #errorContext: RedisErrorContext;
  readonly #emitter = new TypedEmitter<Record<RedisConnectorEventName, RedisConnectorEvent>>();
  readonly #clusters = new Set<NodeRedisCluster>();
  readonly #nodes = new WeakMap<KeylessStreamingCredentials, NodeState>();
  /** The latest re-AUTH node-redis sent on a node client (its `reAuthenticate`, observed). */
  readonly #sentReauthentications = new WeakMap<object, Promise<void>>();
  readonly #renewal: TokenRenewalTimer;
  #main: NodeRedisCluster | undefined;
  #connecting: Promise<void> | undefined;
  readonly #handshake: NodeRedisHandshake;
  #lastRenewalAt = Number.NEGATIVE_INFINITY;
  #lastError = new WeakMap<NodeRedisCluster, unknown>();
  #previousExpiresOnTimestamp: number | undefined;
  #newestExpiresOnTimestamp: number | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(settings: ClusterSettings) {
    this.#settings = settings;
    this.#credentials = settings.credentials;
    this.#handshake = new NodeRedisHandshake(settings.credentials, () => {
      this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
      this.#renewal.schedule();
    });
    this.#renewal = new TokenRenewalTimer(settings.credentials, (error) =>
      this.#reauthenticationFailed(
        isKeylessError(error) ? (error as KeylessError) : this.#typedReauthenticationError(error),
      ),
    );
    this.mode = settings.credentials.kind;
    const [first] = settings.seeds;
    this.#errorContext = settings.credentials.errorContext(first?.host ?? '', first?.port ?? 0);
    settings.credentials.onChange(() => this.#credentialsChanged());
    installRedactedViews(this, () => this.#describe(), 'NodeRedisClusterConnector');
  }

  get client(): NodeRedisCluster {
    if (this.#closed) throw new ClosedError('NodeRedisClusterConnector');
    if (this.#main === undefined) {
      this.#main = this.#createCluster({});
      this.connect().catch(() => {
        // Reported through 'error' events and the commands; connect() gives the typed error.
      });
    }
    return this.#main;
  }

  duplicate(overrides: PassedNodeRedisClusterOptions = {}): NodeRedisCluster {
    if (this.#closed) throw new ClosedError('NodeRedisClusterConnector');
    // As node-redis's own duplicate(): the caller connects it.
    return this.#createCluster(resolvePassedNodeRedisClusterOptions(overrides));
  }

  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  ready(): Promise<void> {
    // connect() resolves at once when the cluster is ready: the probe's steady state sends nothing.
    return this.connect();
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('NodeRedisClusterConnector'));
    this.#main ??= this.#createCluster({});
    const cluster = this.#main;
    if (cluster.isOpen && this.#connecting === undefined) return Promise.resolve();
    this.#connecting ??= this.#connectWithOneRecovery(cluster).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * node-redis asks a seed for the slots over a connection it does not reconnect: a refused login
   * (a rotated secret) fails the attempt. One more attempt with the password fetched afresh tells a
   * rotation from a refusal.
   */
  async #connectWithOneRecovery(cluster: NodeRedisCluster): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      this.#lastError.delete(cluster);
      try {
        await cluster.connect();
        return;
      } catch (error) {
        const cause = this.#lastError.get(cluster) ?? error;
        if (this.#closed) throw new ClosedError('NodeRedisClusterConnector');
        if (attempt === 0 && isAuthenticationFailure(cause)) {
          await this.#credentials.recover(this.#credentials.password).catch(() => false);
          continue;
        }
        throw this.#typed(cause);
      }
    }
  }

  /** What a failure is to the application: typed where the cause is keyless's to explain. */
  #typed(error: unknown): unknown {
    if (this.#closed) return new ClosedError('NodeRedisClusterConnector');
    const cause = (error as { socketError?: unknown } | null)?.socketError ?? error;
    const keyless =
      findKeylessError(cause) ?? findKeylessError((error as { originalError?: unknown })?.originalError);
    if (keyless) return keyless;
    const mapped = mapRedisError(cause, this.#errorContext);
    if (mapped !== cause || isKeylessError(cause)) return mapped;
    return new ServiceUnavailableError('the Redis Cluster did not become ready', {
      cause: sanitizedCause(cause),
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#renewal.stop();
    await Promise.all([...this.#clusters].map((cluster) => closeCluster(cluster)));
    this.#clusters.clear();
    this.#emitter.removeAll();
    await this.#credentials.close();
    await this.#settings.ownedProvider()?.close();
  }

  #describe(): Record<string, unknown> {
    return {
      client: 'node-redis cluster',
      nodes: this.#settings.seeds.map((seed) => `${seed.host}:${seed.port}`),
      tls: this.#settings.tls !== false,
      ...this.#credentials.description,
      user: this.#credentials.user ?? 'default',
      connections: this.#liveNodes().length,
      closed: this.#closed,
    };
  }

  #createCluster(overrides: PassedNodeRedisClusterOptions): NodeRedisCluster {
    const { createCluster } = nodeRedisLibrary('createNodeRedisClusterConnector()');
    const { seeds, tls, clientOptions } = this.#settings;
    const clusterOptions = { ...this.#settings.clusterOptions, ...overrides };
    const userStrategy = clientOptions.socket?.reconnectStrategy;
    const defaults: Record<string, unknown> = {
      ...clientOptions,
      socket: {
        ...clientOptions.socket,
        // As for createNodeRedisConnector(): TLS verified against the address node-redis connects
        // to, set explicitly so that NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch it off. node-redis
        // spreads these under each node's { host, port }.
        ...(tls === false
          ? {}
          : {
              tls: true as const,
              rejectUnauthorized: true,
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            }),
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#reconnectDecision(retries, cause, userStrategy),
      },
    };
    // One credentials provider per node connection. node-redis builds every node client — seeds,
    // masters, replicas, pub/sub and sharded pub/sub, nodes found later — from `{ ...defaults, … }`
    // (cluster-slots.js, #clientOptionsDefaults), and a spread reads a getter afresh each time. One
    // shared provider would not do: a client subscribes again at each reconnect without disposing
    // the previous subscription, and onNext cannot tell two clients' subscriptions apart.
    Object.defineProperty(defaults, 'credentialsProvider', {
      enumerable: true,
      get: () => this.#nodeCredentials(),
    });
    const cluster = createCluster({
      ...clusterOptions,
      // node-redis gives each node client the cluster's RESP, not the one in `defaults`.
      ...(clusterOptions.RESP === undefined && clientOptions.RESP !== undefined
        ? { RESP: clientOptions.RESP }
        : {}),
      rootNodes: seeds.map((seed) => ({ socket: { host: seed.host, port: seed.port } })),
      defaults,
      nodeAddressMap: (address: string) => this.#nodeAddress(address),
    } as never) as unknown as NodeRedisCluster;
    // node-redis emits 'error' when a discovery fails; without a listener that would throw.
    cluster.on('error', (error: unknown) => {
      this.#lastError.set(cluster, error);
    });
    cluster.on('disconnect', () => {
      if (cluster !== this.#main) this.#clusters.delete(cluster);
    });
    Object.defineProperty(cluster, 'duplicate', {
      value: (duplicateOverrides?: PassedNodeRedisClusterOptions) =>
        this.duplicate({ ...overrides, ...duplicateOverrides }),
      configurable: true,
      writable: true,
    });
    installRedactedViews(cluster, () => this.#describe(), 'NodeRedisCluster');
    this.#clusters.add(cluster);
    return cluster;
  }

  /** Where a node is reached: the application's map, else the announced address; the transport rule first. */
  #nodeAddress(address: string): NodeRedisNodeAddress {
    const map = this.#settings.nodeAddressMap;
    const mapped = typeof map === 'function' ? map(address) : map?.[address];
    const separator = address.lastIndexOf(':');
    const target = mapped ?? {
      host: address.slice(0, separator),
      port: Number(address.slice(separator + 1)),
    };
    // Throws ConfigurationError for plaintext to a node not on this machine: node-redis then reports
    // the discovery as failed and opens nothing there.
    assertConnectionDestination(nodeConnection(target, this.#settings.tls), process.env);
    return { host: target.host, port: target.port };
  }

  #nodeCredentials(): KeylessStreamingCredentials {
    const state: NodeState = { handedPassword: undefined, watch: undefined };
    const credentials: KeylessStreamingCredentials = new KeylessStreamingCredentials(
      () => this.#handshakeCredentials(state, credentials),
      (error) => this.#reauthenticationFailed(this.#typedReauthenticationError(error)),
    );
    this.#nodes.set(credentials, state);
    return credentials;
  }

  /**
   * In every handshake of every node connection: the transport rule, a pending recovery, then the
   * newest password. At its first handshake the node client gets the write guard (node-redis-write-guard.ts).
   */
  async #handshakeCredentials(state: NodeState, provider: KeylessStreamingCredentials): Promise<BasicAuth> {
    if (this.#closed) throw new ClosedError('NodeRedisClusterConnector');
    // NODE_TLS_REJECT_UNAUTHORIZED is read here, as Node reads it at each connect.
    const [seed] = this.#settings.seeds;
    if (seed !== undefined)
      assertConnectionDestination(nodeConnection(seed, this.#settings.tls), process.env);
    // Found among the cluster's nodes by its provider (node-redis's discovery connection is in none
    // of them: used for one CLUSTER SLOTS, never reconnected, it needs no guard).
    state.watch ??= guardNodeRedisWrites(
      [...this.#nodeClients()].find((client) => client.options?.credentialsProvider === provider),
      true,
    );
    const connection = state.watch?.connections;
    const { auth, password } = await this.#handshake.next();
    // The socket failed while the password was awaited (a node restarting, a dropped connection):
    // node-redis would wait for the handshake's replies on it forever. Failing the handshake makes
    // it connect again.
    if (connection !== undefined && state.watch?.failedDuring(connection)) {
      throw new ServiceUnavailableError('a Redis Cluster node connection closed during its handshake');
    }
    state.handedPassword = password;
    return auth;
  }

  /**
   * Asked by node-redis after each failed (re)connect of any node connection (one strategy in
   * `defaults.socket` for all). A refused login renews the password — once per back-off period for
   * all nodes, which share it — and retries at once, then with backoff; a refusal asking again
   * cannot cure stops that connection with the typed error; anything else is the application's
   * strategy, or node-redis's default.
   */
  #reconnectDecision(
    retries: number,
    cause: Error,
    userStrategy: PassedNodeRedisSocketOptions['reconnectStrategy'],
  ): number | false | Error {
    if (this.#closed) return false;
    const keyless = findKeylessError(cause);
    if (keyless !== undefined && !keyless.retryable) return keyless as Error;
    if (certificateFailureCode(cause) !== undefined) return this.#typed(cause) as Error;
    if (isAuthenticationFailure(cause)) {
      const now = systemClock.now();
      const due = backoffDelay(retries, { baseDelayMs: 1000, maxDelayMs: 30_000 });
      if (!this.#handshake.recovering && now - this.#lastRenewalAt >= Math.min(due, 1000)) {
        this.#lastRenewalAt = now;
        this.#handshake.recover(this.#credentials.password);
      }
      return retries === 0 ? 0 : due;
    }
    return applicationReconnectDecision(retries, cause, userStrategy);
  }

  /** Every node client of every cluster the connector made: masters', replicas', the pub/sub ones. */
  #nodeClients(): Set<NodeClient> {
    const found = new Set<NodeClient>();
    for (const cluster of this.#clusters) for (const client of clusterNodeClients(cluster)) found.add(client);
    return found;
  }

  /** The node clients whose connection is open, with what keyless knows about each. */
  #liveNodes(): { client: NodeClient; credentials: KeylessStreamingCredentials; state: NodeState }[] {
    const live = [];
    for (const client of this.#nodeClients()) {
      const credentials = client.options?.credentialsProvider;
      if (!(credentials instanceof KeylessStreamingCredentials)) continue;
      const state = this.#nodes.get(credentials);
      if (state !== undefined && client.isOpen) live.push({ client, credentials, state });
    }
    return live;
  }

  #credentialsChanged(): void {
    if (this.#closed) return;
    this.#emitter.emit('password-refreshed', this.#event());
    if (this.#credentials.kind !== 'entra-token') return;
    this.#previousExpiresOnTimestamp = this.#newestExpiresOnTimestamp;
    this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    void this.#reauthenticateAll();
    this.#renewal.schedule();
  }

  async #reauthenticateAll(nodes = this.#liveNodes()): Promise<void> {
    const password = this.#credentials.password;
    if (password === undefined) return;
    const credentials: BasicAuth = { password };
    if (this.#credentials.user !== undefined) credentials.username = this.#credentials.user;
    const now = systemClock.now();
    const answerTimeoutMs = reauthenticationAnswerTimeout(
      (this.#previousExpiresOnTimestamp ?? this.#credentials.expiresOnTimestamp ?? now) - now,
    );
    const outcomes = await Promise.all(
      nodes.map((node) =>
        this.#reauthenticate(
          node.client,
          node.credentials,
          node.state,
          credentials,
          password,
          answerTimeoutMs,
        ),
      ),
    );
    if (this.#closed) return;
    let accepted = 0;
    for (const outcome of outcomes) {
      if (outcome === 'accepted') accepted += 1;
      else if (outcome !== 'skipped') this.#reauthenticationFailed(outcome.error);
    }
    if (accepted > 0) this.#emitter.emit('reauthenticated', this.#event(accepted));
  }

  /** One node connection's re-AUTH: node-redis sends it when that connection's provider hands the token on. */
  async #reauthenticate(
    client: NodeClient,
    streaming: KeylessStreamingCredentials,
    state: NodeState,
    credentials: BasicAuth,
    password: string,
    answerTimeoutMs: number,
  ): Promise<ReauthenticationOutcome> {
    // Not subscribed yet: its handshake is under way and reads the newest token. Not ready (a
    // reconnect, a node down): its next handshake takes the newest token; should the one under way
    // have taken an older one, the connection re-AUTHs once it is ready.
    if (!streaming.subscribed) return 'skipped';
    if (!client.isReady) {
      if (state.handedPassword !== password) this.#reauthenticateWhenReady(client, streaming, state);
      return 'skipped';
    }
    if (client.isPubSubActive && this.#protocol() !== 3) {
      // node-redis does not send AUTH on a RESP2 connection in subscriber mode (Redis refuses it there).
      return {
        error: new ConfigurationError(
          'A node-redis cluster pub/sub connection over RESP2 cannot re-authenticate with a new Entra token; Redis closes it when its token expires (node-redis then reconnects and resubscribes, and messages published meanwhile are lost)',
          {
            hint: 'give the connector `clusterOptions: { RESP: 3 }`: over RESP3 node-redis sends AUTH on a subscribed connection too',
          },
        ),
      };
    }
    const instance = this.#observeReauthentication(client);
    this.#sentReauthentications.delete(instance);
    streaming.push(credentials);
    state.handedPassword = password;
    const sent = this.#sentReauthentications.get(instance);
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
                  `a Redis Cluster node did not answer the re-AUTH with a new token within ${answerTimeoutMs} ms (a command ahead of it may block, e.g. BLPOP 0)`,
                  { hint: 'run blocking commands with a timeout below the token lifetime' },
                ),
              ),
            answerTimeoutMs,
          );
          timer.unref();
        }),
      ]);
      return 'accepted';
    } catch (error) {
      // The connection dropped meanwhile (a node restarting, a failover): its reconnect's handshake
      // logs in with the newest token.
      if (!client.isReady || /client is closed|offline|socket closed/i.test((error as Error)?.message ?? ''))
        return 'skipped';
      return { error: this.#typedReauthenticationError(error) };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Once the node client is ready again: AUTH with the newest token if its handshake sent an older one. */
  #reauthenticateWhenReady(
    client: NodeClient,
    credentials: KeylessStreamingCredentials,
    state: NodeState,
  ): void {
    const emitter = (client._self ?? client) as unknown as {
      once?: (event: 'ready', listener: () => void) => unknown;
    };
    if (typeof emitter.once !== 'function' || waitingForReady.has(emitter)) return;
    waitingForReady.add(emitter);
    emitter.once('ready', () => {
      waitingForReady.delete(emitter);
      if (this.#closed || state.handedPassword === this.#credentials.password) return;
      void this.#reauthenticateAll([{ client, credentials, state }]);
    });
  }

  /**
   * node-redis sends the re-AUTH through the node client's instance method `reAuthenticate` and
   * reports only a failure's message; wrapped once per client (an own property of the instance, as
   * for createNodeRedisConnector()) so that each connection's outcome is known.
   */
  #observeReauthentication(client: NodeClient): object {
    const instance = client._self ?? client;
    const original = instance.reAuthenticate;
    if (typeof original !== 'function' || observed.has(original)) return instance;
    const wrapped = (credentials: BasicAuth) => {
      const sent = original.call(instance, credentials);
      this.#sentReauthentications.set(instance, sent);
      return sent;
    };
    observed.add(wrapped);
    instance.reAuthenticate = wrapped;
    return instance;
  }

  #protocol(): number | undefined {
    return this.#settings.clusterOptions.RESP ?? this.#settings.clientOptions.RESP;
  }

  #typedReauthenticationError(error: unknown): KeylessError {
    if (isKeylessError(error)) return error as KeylessError;
    const cause = sanitizedCause(error);
    const mapped = mapRedisError(cause, this.#errorContext);
    if (isKeylessError(mapped)) return mapped as KeylessError;
    // node-redis's CredentialsError keeps the reply in its message.
    if (/WRONGPASS|NOAUTH|invalid (username-)?password/i.test((cause as Error)?.message ?? '')) {
      const retyped = mapRedisError(new Error('WRONGPASS'), this.#errorContext);
      if (isKeylessError(retyped)) return retyped as KeylessError;
    }
    return new ServiceUnavailableError('a Redis Cluster node did not accept the re-AUTH with a new token', {
      cause,
    });
  }

  /** Never swallowed: the connector's 'reauthentication-failed' event. */
  #reauthenticationFailed(error: KeylessError): void {
    if (this.#closed) return;
    const event = this.#event();
    event.error = error;
    this.#emitter.emit('reauthentication-failed', event);
  }

  #event(connections?: number): RedisConnectorEvent {
    const event: RedisConnectorEvent = { at: systemClock.now() };
    if (this.#credentials.expiresOnTimestamp !== undefined)
      event.expiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    if (connections !== undefined) event.connections = connections;
    return event;
  }
}

/** The reAuthenticate wrappers keyless installed (a client is wrapped once). */
const observed = new WeakSet<object>();
/** Node clients with a re-AUTH pending until they are ready again (one listener each). */
const waitingForReady = new WeakSet<object>();

/** close() lets pending replies arrive (bounded), then abandons what is left (abandonNodeRedisClient). */
async function closeCluster(cluster: NodeRedisCluster): Promise<void> {
  if (!cluster.isOpen) return;
  // node-redis's close() forgets the node clients at once (and reads as closed): kept here, with
  // whether each one has ended, to deal with those that do not close in time.
  const clients = [...clusterNodeClients(cluster)].filter((client) => client.isOpen);
  const ended = new Set<NodeClient>();
  for (const client of clients) {
    (client as unknown as { once?: (event: 'end', listener: () => void) => unknown }).once?.('end', () =>
      ended.add(client),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  await Promise.race([
    cluster.close().then(
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
  if (closed) return;
  for (const client of clients) if (!ended.has(client)) abandonNodeRedisClient(client);
}

/** A cluster's node clients, from its public view: masters', each master's pub/sub, replicas', the pub/sub node's. */
function clusterNodeClients(cluster: NodeRedisCluster): Set<NodeClient> {
  const nodes = cluster as unknown as ClusterNodes;
  const found = new Set<NodeClient>();
  for (const master of nodes.masters ?? []) {
    if (master.client) found.add(master.client);
    if (master.pubSub?.client) found.add(master.pubSub.client);
  }
  for (const replica of nodes.replicas ?? []) if (replica.client) found.add(replica.client);
  if (nodes.pubSubNode?.client) found.add(nodes.pubSubNode.client);
  return found;
}
