import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

/**
 * Every place keyless relies on ioredis beyond its documented API, in one file. Checked against
 * the source of ioredis 5.4.0, 5.10.1 and 6.0.0 (lib/Redis.ts, lib/redis/event_handler.ts,
 * lib/connectors/*, lib/errors/*), and run with 5.4.0 and 6.0.0: a command in flight while the
 * password is rotated and the server restarted is re-sent after the refused reconnect (2, 4, 5),
 * an Entra reconnect with the same token sends no second AUTH (3), an untrusted certificate ends
 * the client with the typed error (7), and commands past `maxRetriesPerRequest` get
 * ServiceUnavailableError (6). Run that again for every ioredis the peer range admits.
 *
 * 1. `client.options.password` / `client.options.username` are read by `Redis#connect()` at every
 *    (re)connect into `condition.auth`. ioredis has no asynchronous password hook, so keyless makes
 *    `password` an accessor answering the newest secret or token.
 * 2. `recoverFromFatalError(commandError, error, flushOptions)` is where a refused handshake
 *    (AUTH, or HELLO … AUTH in 6.x) lands; ioredis's version flushes every queued command with the
 *    raw error. keyless overrides it on the instance so that a first WRONGPASS/NOAUTH fetches the
 *    credentials afresh and reconnects with the queue intact (a rotation loses no command).
 * 3. `condition.auth` (`password` or `[username, password]`) is what the current connection
 *    authenticates with: `Redis#connect()` computes it from (1) before the connector runs, and the
 *    handshake (`connectHandler`: AUTH, or HELLO … AUTH) reads it once the socket is open. keyless
 *    reads it (an Entra connection whose handshake used an older token re-AUTHs at once) and sets
 *    it from its socket connector (7) once the first password or token has been fetched: the
 *    connector is created without fetching anything, so at the first `connect()` (1) has none yet.
 * 4. `prevCommandQueue` holds commands that were in flight when a connection dropped, to be re-sent
 *    after the next handshake; `flushQueue()` leaves them alone. When the credentials are refused
 *    for good, or the client ends, keyless rejects them with the same error instead of leaving
 *    their promises pending forever.
 * 5. `connectionEpoch` increments at every connect: after fetching fresh credentials, keyless drops
 *    the half-open connection only if it is still the one that was refused.
 * 6. `flushQueue(error, options)` fails the queued commands; ioredis calls it with
 *    `MaxRetriesPerRequestError` after `maxRetriesPerRequest` failed reconnects. keyless wraps it on
 *    the instance to hand the commands ServiceUnavailableError instead (with the connection error
 *    as the cause); every other error passes unchanged.
 * 7. The `Connector` option with the exported `AbstractConnector` (public, but its contract is
 *    ioredis's internal one): `connect()` resolves a socket; one that is no longer `connecting`
 *    starts the handshake, one already destroyed reports `firstError` and reconnects through
 *    `retryStrategy`, and a rejection flushes the queues with that error, emits it as `'error'` and
 *    ends the client (status `end`, no reconnect). `disconnect()` must end the socket. keyless's
 *    socket connector uses exactly this to refuse a destination or an untrusted certificate with
 *    a typed error that stops the client instead of reconnecting forever; and, since the factory
 *    fetches nothing, to wait for the first password or token before opening the socket (a
 *    credential that cannot be had ends the client with its typed error, or — throttled,
 *    unavailable — is reported through a destroyed socket, so ioredis reconnects and asks again).
 *    The `condition.auth` it then sets (3) is only read by the handshake, after `connect()` resolved.
 * 8. `handleReconnection(error, item)` is where every error reply lands: the decoder hands it to
 *    `DataHandler#returnError`, which calls it on the client; it applies `reconnectOnError` and then
 *    fails `item.command` with `error`. keyless replaces it on the instance so that a NOPERM reply
 *    reaches the caller as AuthorizationError naming the access policy. It runs only for error
 *    replies: the command path itself stays ioredis's own. (keyless once wrapped `sendCommand` to
 *    wrap each command's `reject` instead; that cost 1–5 µs and a WeakSet entry per command, the
 *    largest item of keyless's own time in a CPU profile of a pipelined INCR bench.)
 * 9. `condition.subscriber` and `condition.protocol`: a connection subscribed over RESP2 accepts
 *    only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET — ioredis refuses anything else
 *    before sending it, Redis would too — so it cannot re-send `AUTH`; keyless reconnects it instead.
 * 10. `_readyCheck(callback)` decides when a connection is ready (its offline queue then goes out).
 *    ioredis 5 declares a connection ready as soon as it has *sent* AUTH when the ready check is
 *    off, so commands queued during a reconnect go out behind an AUTH that may fail (a rotated
 *    password, a restarted server) and come back NOAUTH. ioredis 6 waits for the handshake's
 *    answers. On ioredis 5 keyless keeps the ready check on and replaces this check (which sends
 *    INFO, @dangerous, refused by Data Contributor and Data Reader with a warning on every
 *    reconnect) by `COMMAND COUNT` (named in lower case: ioredis 5 looks the name up as given): @connection, which every access policy allows, and flagged
 *    `loading`, which ioredis 5 lets through before the connection is ready.
 * 11. Cluster: `cluster.subscriber.getInstance()` is the connection ioredis opens for (P)SUBSCRIBE
 *    (ClusterSubscriber). It is made with `new Redis({ host, port, username, password, tls, … })`
 *    from a sampled node's options — not with `redisOptions`, so not through keyless's `Connector` —
 *    and `retryStrategy: null`: once it ends, ioredis picks a node again, reads that node's
 *    `password` (keyless's accessor: the newest token) and resubscribes. keyless re-AUTHs it with the
 *    node connections (over RESP2: by ending it, so that its successor logs in with the new token).
 *    keyless adopts each new subscriber before it connects — keyless's hooks, and `connector` (the
 *    `StandaloneConnector` ioredis made in the constructor) replaced by keyless's while the
 *    connection is still `wait` — by wrapping, on the instance, `getInstance()` (how cluster
 *    commands reach it) and `selectSubscriber()`, which makes a replacement and resubscribes it at
 *    once: keyless has it made without the channels (`lastActiveSubscriber` cleared for the call,
 *    its channels read from `condition`/`prevCondition` as ioredis does), adopts it, resubscribes,
 *    and sets `lastActiveSubscriber` once that succeeded, as ioredis does. Should a subscriber still
 *    connect with ioredis's own connector, it uses the `tls` keyless puts in `redisOptions`:
 *    verified, never switched off.
 * 12. Cluster: ioredis fetches `CLUSTER SLOTS` over `node.duplicate(…)` of a node connection
 *    (`getInfoFromNode`); keyless adopts each duplicate as it adopts the node.
 * 13. Cluster with `shardedSubscribers: true` (ioredis 5.8+ and 6): `cluster.shardedSubscribers`
 *    (ClusterSubscriberGroup) keeps one ShardedSubscriber per master in its own
 *    `shardedSubscribers` Map, each with a connection (`getInstance()`) made as
 *    `new Redis(defaults({ retryStrategy: null, lazyConnect: true, … }, node.options, redisOptions))`:
 *    through keyless's `Connector` (it is in `redisOptions`), with the password copied from the
 *    node's options when it was made. keyless finds it when its connector asks for credentials
 *    (the connector is made with that connection's `options`), adopts it then — before anything is
 *    written — and re-AUTHs it with the node connections. Once it ends (retryStrategy null) ioredis
 *    makes a new one at the next slots refresh and resubscribes its channels.
 */

type RecoverFromFatalError = (commandError: Error, error: Error, flushOptions?: unknown) => void;
type FlushQueue = (error: Error, flushOptions?: unknown) => void;

interface RedisInternals {
  recoverFromFatalError: RecoverFromFatalError;
  flushQueue: FlushQueue;
  handleReconnection: (error: Error, item: unknown) => void;
  _readyCheck: (callback: (error: Error | null, info?: Record<string, string>) => void) => void;
  condition?: { auth?: unknown; subscriber?: unknown; protocol?: unknown } | null;
  prevCommandQueue?: {
    length: number;
    shift(): { command?: { reject?: (error: Error) => void } } | undefined;
  } | null;
  connectionEpoch?: unknown;
}

function internals(client: Redis): RedisInternals {
  return client as unknown as RedisInternals;
}

/** (2) Replaces `recoverFromFatalError` on this instance; `original` is ioredis's own. */
export function overrideRecoverFromFatalError(
  client: Redis,
  replacement: (original: RecoverFromFatalError) => RecoverFromFatalError,
): void {
  const target = internals(client);
  const original = target.recoverFromFatalError.bind(client);
  target.recoverFromFatalError = replacement(original);
}

/** (3) What the handshake now starting sends: set once the first password or token is at hand. */
export function setHandshakeAuth(client: Redis, user: string | undefined, password: string): void {
  const condition = internals(client).condition;
  if (condition) condition.auth = user === undefined ? password : [user, password];
}

/** (3) The password a live connection authenticated with at its last (re)connect. */
export function handshakePasswordOf(client: Redis): string | undefined {
  const auth = internals(client).condition?.auth;
  if (Array.isArray(auth)) return typeof auth[1] === 'string' ? auth[1] : undefined;
  return typeof auth === 'string' ? auth : undefined;
}

/** (4) Fails the commands waiting to be re-sent after a reconnect that will not come. */
export function rejectCommandsAwaitingResend(client: Redis, error: Error): void {
  const queue = internals(client).prevCommandQueue;
  if (!queue || typeof queue.shift !== 'function') return;
  while (queue.length > 0) queue.shift()?.command?.reject?.(error);
}

/** (5) Identifies the current connection attempt. */
export function connectionEpochOf(client: Redis): unknown {
  return internals(client).connectionEpoch;
}

/** (6) Lets `mapError` replace the error ioredis fails the queued commands with. */
export function mapFlushedCommandErrors(client: Redis, mapError: (error: Error) => Error): void {
  const target = internals(client);
  const original = target.flushQueue.bind(client);
  target.flushQueue = (error, flushOptions) => original(mapError(error), flushOptions);
}

/** ioredis's error for commands that waited through `maxRetriesPerRequest` failed reconnects. */
export function isMaxRetriesPerRequestError(error: unknown): boolean {
  return error instanceof Error && error.name === 'MaxRetriesPerRequestError';
}

/** (8) Lets `mapError` replace the error of every error reply, before its command fails with it. */
export function mapErrorReplies(client: Redis, mapError: (error: Error) => Error): void {
  const target = internals(client);
  const original = target.handleReconnection.bind(client);
  target.handleReconnection = (error, item) => original(mapError(error), item);
}

/** (9) The connection is subscribed over RESP2: it cannot send `AUTH` until it unsubscribes. */
export function isResp2Subscriber(client: Redis): boolean {
  const condition = internals(client).condition;
  return Boolean(condition?.subscriber) && condition?.protocol !== 3;
}

let readiesBeforeAuthAnswers: boolean | undefined;

/**
 * Whether the installed ioredis sends commands queued during a reconnect before AUTH was answered
 * (10). Read when the first ioredis client is made, not at import: node-redis users have no ioredis.
 */
export function ioredisReadiesBeforeAuthAnswers(): boolean {
  readiesBeforeAuthAnswers ??=
    Number.parseInt(createRequire(import.meta.url)('ioredis/package.json').version, 10) < 6;
  return readiesBeforeAuthAnswers;
}

/** (10) The connection is ready once AUTH was answered: a `COMMAND COUNT` after it succeeded. */
export function readyAfterAuthAnswered(client: Redis): void {
  internals(client)._readyCheck = (callback) => {
    client.call('command', 'count').then(
      () => callback(null, {}),
      (error: Error) => callback(error),
    );
  };
}

interface ClusterSubscriberInternals {
  getInstance(): Redis | null;
  selectSubscriber(): void;
  subscriber: Redis | null;
  lastActiveSubscriber?: Redis;
  onSubscriberEnd?: () => void;
}

type SubscriptionKind = 'subscribe' | 'psubscribe' | 'ssubscribe';

/** (11) The channels a subscriber connection had, as ioredis reads them to resubscribe. */
function subscribedChannels(client: Redis | undefined): Record<SubscriptionKind, string[]> | undefined {
  const state = client as unknown as
    | {
        condition?: { subscriber?: { channels(kind: string): string[] } | false } | null;
        prevCondition?: { subscriber?: { channels(kind: string): string[] } | false } | null;
      }
    | undefined;
  const tracker = (state?.condition || state?.prevCondition)?.subscriber;
  if (!tracker) return undefined;
  const channels = {
    subscribe: tracker.channels('subscribe'),
    psubscribe: tracker.channels('psubscribe'),
    ssubscribe: tracker.channels('ssubscribe'),
  };
  return Object.values(channels).some((list) => list.length > 0) ? channels : undefined;
}

/**
 * (11) Calls `adopt` with each subscriber connection the cluster makes, before it connects. ioredis
 * resubscribes a replacement at once, inside `selectSubscriber()` (so before keyless could see it):
 * keyless has it made without the channels, adopts it, then resubscribes them itself as ioredis
 * would, keeping `lastActiveSubscriber` on the old one until that succeeded.
 */
export function adoptClusterSubscribers(cluster: unknown, adopt: (subscriber: Redis) => void): void {
  const target = (cluster as { subscriber?: ClusterSubscriberInternals }).subscriber;
  if (typeof target?.getInstance !== 'function' || typeof target.selectSubscriber !== 'function') return;
  const adopted = new WeakSet<Redis>();
  const adoptOnce = (instance: Redis | null | undefined) => {
    if (instance && !adopted.has(instance)) {
      adopted.add(instance);
      adopt(instance);
    }
  };
  const getInstance = target.getInstance.bind(target);
  target.getInstance = () => {
    const instance = getInstance();
    adoptOnce(instance);
    return instance;
  };
  const selectSubscriber = target.selectSubscriber.bind(target);
  target.selectSubscriber = () => {
    const previous = target.lastActiveSubscriber;
    const channels = subscribedChannels(previous);
    if (previous === undefined || channels === undefined) {
      selectSubscriber();
      adoptOnce(target.subscriber);
      return;
    }
    if (target.onSubscriberEnd) previous.off('end', target.onSubscriberEnd);
    previous.disconnect();
    target.lastActiveSubscriber = undefined;
    selectSubscriber();
    target.lastActiveSubscriber = previous;
    const created = target.subscriber;
    if (!created) return;
    adoptOnce(created);
    let pending = 0;
    const resubscribed = () => {
      pending -= 1;
      if (pending === 0 && target.subscriber === created) target.lastActiveSubscriber = created;
    };
    const client = created as unknown as Record<
      SubscriptionKind,
      (...channels: string[]) => Promise<unknown>
    >;
    for (const kind of ['subscribe', 'psubscribe'] as const) {
      if (channels[kind].length === 0) continue;
      pending += 1;
      client[kind](...channels[kind]).then(resubscribed, () => {});
    }
    for (const channel of channels.ssubscribe) {
      pending += 1;
      client.ssubscribe(channel).then(resubscribed, () => {});
    }
  };
}

/** (11) Replaces the connector of a connection that has not connected yet; false when it has. */
export function replaceConnector(client: Redis, Connector: new (options: unknown) => unknown): boolean {
  if (client.status !== 'wait') return false;
  (client as unknown as { connector: unknown }).connector = new Connector(client.options);
  return true;
}

/** (13) The connections of the cluster's sharded subscribers (`shardedSubscribers: true`); none without. */
export function clusterShardedSubscribersOf(cluster: unknown): Redis[] {
  const group = (cluster as { shardedSubscribers?: { shardedSubscribers?: unknown } }).shardedSubscribers;
  const subscribers = group?.shardedSubscribers;
  if (!(subscribers instanceof Map)) return [];
  const connections: Redis[] = [];
  for (const subscriber of subscribers.values()) {
    const instance = (subscriber as { getInstance?: () => Redis | null }).getInstance?.();
    if (instance) connections.push(instance);
  }
  return connections;
}

/** (11) The cluster's subscriber connection, when it has one. */
export function clusterSubscriberOf(cluster: unknown): Redis | undefined {
  const subscriber = (cluster as { subscriber?: { getInstance?: () => Redis | null } }).subscriber;
  return typeof subscriber?.getInstance === 'function' ? (subscriber.getInstance() ?? undefined) : undefined;
}
