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
import type { Cluster, Redis } from 'ioredis';
import { installConnectionHooks } from './connection-hooks.js';
import { reauthenticateConnection } from './connection-reauthentication.js';
import {
  adoptClusterSubscribers,
  clusterShardedSubscribersOf,
  clusterSubscriberOf,
  handshakePasswordOf,
  ioredisReadiesBeforeAuthAnswers,
  readyAfterAuthAnswered,
  replaceConnector,
  setHandshakeAuth,
} from './ioredis-internals.js';
import { ioredisLibrary } from './ioredis-library.js';
import { reauthenticationAnswerTimeout } from './reauthentication-schedule.js';
import {
  nodeConnection,
  type PassedClusterOptions,
  type RedisClusterConnectorOptions,
  resolveClusterTls,
  resolvePassedClusterOptions,
  resolveSeedNodes,
  type SeedNode,
} from './redis-cluster-options.js';
import type { RedisConnectorEvent, RedisConnectorEventName } from './redis-connector.js';
import type { RedisCredentials } from './redis-credentials.js';
import { bindRedisCredentials } from './redis-credentials-binding.js';
import { mapRedisError, type RedisErrorContext, sanitizedCause } from './redis-error-mapping.js';
import {
  assertConnectionDestination,
  type PassedRedisOptions,
  type ResolvedConnection,
  resolvePassedRedisOptions,
} from './redis-options.js';
import { socketConnectorFor } from './redis-socket-connector.js';
import { TokenRenewalTimer } from './token-renewal-timer.js';

/** What `createRedisClusterConnector()` returns: an ioredis Cluster whose node connections keep fresh credentials. */
export interface RedisClusterConnector {
  /** The ioredis `Cluster`, made on first use; it starts connecting then unless `clusterOptions.lazyConnect`. Throws ClosedError after close(). */
  readonly client: Cluster;
  readonly mode: PasswordSource['kind'];
  /** Fail-fast start-up: resolves once the cluster is ready; rejects with the typed error (a refused login: AuthenticationFailedError). */
  connect(): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): resolves at once
   * while the cluster is ready — an in-process check, no command sent, so probes every few seconds do
   * not load the cache — and otherwise waits as `connect()` does, rejecting with its typed error
   * (the probe answers "not ready"). After `close()`, ClosedError.
   */
  ready(): Promise<void>;
  /** Idempotent: quits the cluster, stops timers, closes what the connector built. */
  close(): Promise<void>;
  /** The events of `createRedisConnector()`; `connections` counts node (and subscriber) connections. */
  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void;
}

/**
 * ioredis `Cluster` with a password from Key Vault or an Entra token. Every node connection — seeds,
 * nodes discovered later, replicas — is opened by keyless's socket connector (TLS verified against
 * the node's address, after `natMap`; plaintext only to loopback) with the newest credentials;
 * Entra tokens are re-sent with `AUTH` on every live node connection before they expire.
 */
export function createRedisClusterConnector(options: RedisClusterConnectorOptions): RedisClusterConnector {
  warnAboutCredentialPrintingDebugOutput();
  const given = options ?? ({} as RedisClusterConnectorOptions);
  const redisOptions = resolvePassedRedisOptions(given.redisOptions);
  const clusterOptions = resolvePassedClusterOptions(given.clusterOptions);
  const seeds = resolveSeedNodes(given.nodes);
  const tls = resolveClusterTls(given.tls);
  // Seeds are checked now; announced nodes before each of their connects.
  for (const seed of seeds) assertConnectionDestination(nodeConnection(seed, tls));
  const { credentials, ownedProvider } = bindRedisCredentials(given);
  return new KeylessRedisClusterConnector({
    seeds,
    tls,
    credentials,
    redisOptions,
    clusterOptions,
    natMap: given.natMap,
    ownedProvider: ownedProvider(),
  });
}

interface ClusterSettings {
  seeds: SeedNode[];
  tls: ResolvedConnection['tls'];
  credentials: RedisCredentials;
  redisOptions: PassedRedisOptions;
  clusterOptions: PassedClusterOptions;
  natMap: RedisClusterConnectorOptions['natMap'];
  ownedProvider: TokenProvider | undefined;
}

class KeylessRedisClusterConnector implements RedisClusterConnector {
  readonly mode: PasswordSource['kind'];
  readonly #settings: ClusterSettings;
  readonly #credentials: RedisCredentials;
  readonly #errorContext: RedisErrorContext;
  readonly #emitter = new TypedEmitter<Record<RedisConnectorEventName, RedisConnectorEvent>>();
  /** Node connections by their ioredis options object (what the socket connector is made with). */
  readonly #nodesByOptions = new WeakMap<object, Redis>();
  /**
   * Each node connection's handshake bound (the socket connector's), by the node's options, until
   * the node is ready. Left armed, the socket's timeout is re-armed at every read and write.
   */
  readonly #handshakeBounds = new WeakMap<object, () => void>();
  #cluster: Cluster | undefined;
  #connecting: Promise<void> | undefined;
  #firstCredentials: Promise<void> | undefined;
  #lastNodeError: unknown;
  readonly #renewal: TokenRenewalTimer;
  #previousExpiresOnTimestamp: number | undefined;
  #newestExpiresOnTimestamp: number | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(settings: ClusterSettings) {
    this.#settings = settings;
    this.#credentials = settings.credentials;
    this.#renewal = new TokenRenewalTimer(settings.credentials, (error) =>
      this.#reauthenticationFailed(isKeylessError(error) ? (error as KeylessError) : this.#typedError(error)),
    );
    this.mode = settings.credentials.kind;
    const [first] = settings.seeds;
    this.#errorContext = settings.credentials.errorContext(first?.host ?? '', first?.port ?? 0);
    settings.credentials.onChange(() => this.#credentialsChanged());
    installRedactedViews(this, () => this.#describe(), 'RedisClusterConnector');
  }

  get client(): Cluster {
    if (this.#closed) throw new ClosedError('RedisClusterConnector');
    if (this.#cluster === undefined) {
      this.#cluster = this.#createCluster();
      if (this.#settings.clusterOptions.lazyConnect !== true) this.#cluster.connect().catch(() => {});
    }
    return this.#cluster;
  }

  on(event: RedisConnectorEventName, listener: (event: RedisConnectorEvent) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  ready(): Promise<void> {
    // connect() resolves at once when the cluster is ready: the probe's steady state sends nothing.
    return this.connect();
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('RedisClusterConnector'));
    const cluster = this.client;
    if (cluster.status === 'ready') return Promise.resolve();
    this.#connecting ??= this.#untilReady(cluster).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #untilReady(cluster: Cluster): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = () => {
        cluster.off('ready', onReady);
        cluster.off('error', onFailure);
        cluster.off('end', onFailure);
      };
      const onReady = () => {
        stop();
        resolve();
      };
      // ioredis reports a cluster it could not reach with a generic error; the node's own says why.
      const onFailure = (error?: unknown) => {
        stop();
        if (cluster.status !== 'end') cluster.disconnect();
        if (this.#closed) {
          reject(new ClosedError('RedisClusterConnector'));
          return;
        }
        const cause = this.#lastNodeError ?? error;
        const mapped = mapRedisError(cause, this.#errorContext);
        if (mapped !== cause || isKeylessError(cause)) reject(mapped);
        else
          reject(
            new ServiceUnavailableError('the Redis Cluster did not become ready', {
              cause: cause === undefined ? undefined : sanitizedCause(cause),
            }),
          );
      };
      cluster.once('ready', onReady);
      cluster.on('error', onFailure);
      cluster.once('end', onFailure);
      if (cluster.status === 'wait' || cluster.status === 'end') cluster.connect().catch(() => {});
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#renewal.stop();
    const cluster = this.#cluster;
    if (cluster !== undefined && cluster.status !== 'end') {
      // QUIT lets pending replies arrive; the cluster ends once every node has closed. Calling
      // disconnect() before that leaves ioredis's Cluster in `close` for good, so it is the fallback.
      const ended = new Promise<void>((resolve) => cluster.once('end', () => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([cluster.quit().catch(() => {}), ended]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 2000);
          timer.unref();
        }),
      ]);
      if (timer) clearTimeout(timer);
      if ((cluster.status as string) !== 'end') cluster.disconnect();
    }
    this.#emitter.removeAll();
    await this.#credentials.close();
    await this.#settings.ownedProvider?.close();
  }

  #describe(): Record<string, unknown> {
    return {
      nodes: this.#settings.seeds.map((seed) => `${seed.host}:${seed.port}`),
      tls: this.#settings.tls !== false,
      ...this.#credentials.description,
      user: this.#credentials.user ?? 'default',
      connections: this.#liveConnections().length,
      closed: this.#closed,
    };
  }

  #createCluster(): Cluster {
    const { seeds, tls, redisOptions, clusterOptions, natMap } = this.#settings;
    const Connector = socketConnectorFor({
      connection: nodeConnection(seeds[0] ?? {}, tls),
      connectionFor: (nodeOptions) => nodeConnection(nodeOptions, tls),
      onFatal: () => {},
      // The handshake's bound on a node's socket, lifted when that node is ready (#connectionReady).
      onHandshake: (handshakeDone, nodeOptions) => {
        if (typeof nodeOptions === 'object' && nodeOptions !== null)
          this.#handshakeBounds.set(nodeOptions, handshakeDone);
      },
      onConnectionError: () => {},
      beforeConnect: (nodeOptions) => this.#beforeConnect(nodeOptions),
    });
    const cluster = new (ioredisLibrary().Cluster)(seeds, {
      // A node whose handshake was refused is reconnected with fresh credentials (connection-hooks.ts):
      // that needs a retry strategy, which ioredis leaves off for cluster nodes.
      clusterNodeRetryStrategy: (times: number) => (times > 10 ? null : Math.min(times * 100, 2000)),
      ...clusterOptions,
      ...(natMap === undefined ? {} : { natMap }),
      lazyConnect: true,
      redisOptions: {
        // As in createRedisConnector() (redis-connector.ts says why).
        enableReadyCheck: ioredisReadiesBeforeAuthAnswers(),
        ...redisOptions,
        Connector,
        // keyless's connector ignores this. It is the fallback for a cluster subscriber that would
        // connect with ioredis's own connector (ioredis-internals.ts, 11): verified, as keyless's.
        ...(tls === false ? {} : { tls: { ...tls, rejectUnauthorized: true } }),
      },
    });
    cluster.on('+node', (node: Redis) => this.#adoptNode(node));
    adoptClusterSubscribers(cluster, (subscriber) => {
      replaceConnector(subscriber, Connector as unknown as new (options: unknown) => unknown);
      this.#adoptNode(subscriber);
      // ioredis turns the subscriber's ready check on; its INFO is refused by Azure's Data
      // Contributor and Data Reader policies (redis-connector.ts): keyless's check on ioredis 5,
      // none on ioredis 6, which waits for the handshake's answers (ioredis-internals.ts, 10).
      if (ioredisReadiesBeforeAuthAnswers()) readyAfterAuthAnswered(subscriber);
      else subscriber.options.enableReadyCheck = false;
    });
    cluster.on('node error', (error: unknown) => {
      this.#lastNodeError = error;
    });
    cluster.on('ready', () => {
      this.#lastNodeError = undefined;
    });
    // A `duplicate()` would be a cluster without keyless's hooks.
    cluster.duplicate = () => {
      throw new ServiceUnavailableError(
        'duplicate() of a keyless Redis Cluster is not supported: subscribe on the cluster itself (ioredis keeps one subscriber connection, re-authenticated by keyless), or create another connector',
      );
    };
    installRedactedViews(cluster, () => this.#describe(), 'Cluster');
    return cluster;
  }

  #adoptNode(node: Redis): void {
    this.#nodesByOptions.set(node.options, node);
    // ioredis's own, which copies the options (the Connector included): see ioredis-internals.ts, 12.
    const duplicate = node.duplicate.bind(node);
    if (ioredisReadiesBeforeAuthAnswers() && this.#settings.redisOptions.enableReadyCheck === undefined) {
      readyAfterAuthAnswered(node);
    }
    installConnectionHooks(node, {
      credentials: this.#credentials,
      errorContext: {
        ...this.#errorContext,
        host: String(node.options.host),
        port: Number(node.options.port),
      },
      isClosed: () => this.#closed,
      onReady: (ready) => this.#connectionReady(ready),
      duplicate: (override) => {
        // ioredis asks for no reconnect (a dead node should fail fast); a refused handshake needs
        // exactly one, with credentials fetched afresh, to tell a rotation from a refusal.
        const copy = duplicate(
          override?.retryStrategy === null
            ? { ...override, retryStrategy: (times: number) => (times > 1 ? null : 100) }
            : override,
        );
        this.#adoptNode(copy);
        return copy;
      },
      describe: (described) => ({
        host: described.options.host,
        port: described.options.port,
        tls: this.#settings.tls !== false,
        user: this.#credentials.user ?? 'default',
        status: described.status,
      }),
    });
  }

  /** Before each connect of any node: the first credentials once for all, then into this handshake. */
  async #beforeConnect(nodeOptions: unknown): Promise<void> {
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
    const node =
      typeof nodeOptions === 'object' && nodeOptions !== null
        ? (this.#nodesByOptions.get(nodeOptions) ?? this.#adoptShardedSubscriber(nodeOptions))
        : undefined;
    const password = this.#credentials.password;
    if (node !== undefined && password !== undefined)
      setHandshakeAuth(node, this.#credentials.user, password);
  }

  /**
   * A sharded subscriber's connection asks for credentials before its first connect: adopted then,
   * found by the options its connector was made with (ioredis-internals.ts, 13).
   */
  #adoptShardedSubscriber(nodeOptions: object): Redis | undefined {
    const cluster = this.#cluster;
    if (cluster === undefined) return undefined;
    const subscriber = clusterShardedSubscribersOf(cluster).find(
      (instance) => instance.options === nodeOptions,
    );
    if (subscriber === undefined) return undefined;
    this.#adoptNode(subscriber);
    return subscriber;
  }

  /** Every live connection of the cluster: each node's, the subscriber's and the sharded subscribers'. */
  #liveConnections(): Redis[] {
    const cluster = this.#cluster;
    if (cluster === undefined) return [];
    const connections = [...cluster.nodes('all')];
    const subscriber = clusterSubscriberOf(cluster);
    if (subscriber !== undefined && !connections.includes(subscriber)) connections.push(subscriber);
    for (const sharded of clusterShardedSubscribersOf(cluster)) {
      // Adopted at its first connect; one that never connected holds no login to renew.
      if (this.#nodesByOptions.get(sharded.options) === sharded && !connections.includes(sharded))
        connections.push(sharded);
    }
    return connections;
  }

  #connectionReady(node: Redis): void {
    const handshakeDone = this.#handshakeBounds.get(node.options);
    this.#handshakeBounds.delete(node.options);
    handshakeDone?.();
    if (this.#credentials.kind !== 'entra-token' || this.#closed) return;
    if (handshakePasswordOf(node) === this.#credentials.password) return;
    void this.#reauthenticateAll([node]);
  }

  #credentialsChanged(): void {
    if (this.#closed) return;
    this.#emitter.emit('password-refreshed', this.#event());
    if (this.#credentials.kind !== 'entra-token') return;
    this.#previousExpiresOnTimestamp = this.#newestExpiresOnTimestamp;
    this.#newestExpiresOnTimestamp = this.#credentials.expiresOnTimestamp;
    void this.#reauthenticateAll(this.#liveConnections());
    this.#renewal.schedule();
  }

  async #reauthenticateAll(connections: Redis[]): Promise<void> {
    const password = this.#credentials.password;
    if (password === undefined) return;
    const login = { user: this.#credentials.user, password };
    const now = systemClock.now();
    const answerTimeoutMs = reauthenticationAnswerTimeout(
      (this.#previousExpiresOnTimestamp ?? this.#credentials.expiresOnTimestamp ?? now) - now,
    );
    const outcomes = await Promise.all(
      connections.map((connection) =>
        reauthenticateConnection(connection, login, answerTimeoutMs).catch(
          (error: unknown) => ({ kind: 'failed', error }) as const,
        ),
      ),
    );
    if (this.#closed) return;
    let accepted = 0;
    let reconnected = 0;
    for (const outcome of outcomes) {
      if (outcome.kind === 'accepted') accepted += 1;
      else if (outcome.kind === 'reconnected') reconnected += 1;
      else if (outcome.kind === 'refused' || outcome.kind === 'failed') {
        this.#reauthenticationFailed(this.#typedError(outcome.error));
      }
    }
    if (accepted + reconnected > 0) {
      const event = this.#event(accepted);
      if (reconnected > 0) event.reconnected = reconnected;
      this.#emitter.emit('reauthenticated', event);
    }
  }

  #typedError(error: unknown): KeylessError {
    const cause = sanitizedCause(error);
    const mapped = mapRedisError(cause, this.#errorContext);
    if (isKeylessError(mapped)) return mapped as KeylessError;
    return new ServiceUnavailableError(
      'a Redis Cluster node did not accept the re-AUTH with a new token; the connection was reconnected to log in with it',
      { cause },
    );
  }

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
