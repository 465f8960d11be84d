/**
 * A guard against a node-redis 5 race (seen with 5.12.4, raw `createClient`/`createCluster` alike):
 * a write the client scheduled while its connection was ready (`setImmediate`, or on the socket's
 * `drain`) can run after that socket has closed. The client's socket wrapper still holds the closed
 * socket: the commands queued meanwhile move to the list of commands awaiting a reply and their bytes
 * go nowhere (a destroyed socket drops them without an error), and nothing flushes that list again.
 * The next connection's replies then go to those commands, in order: its handshake (AUTH, CLIENT
 * SETINFO) waits for replies that never come — the connection stays open and never ready — or, once
 * answered, every later command gets the reply meant for another: a SET answered "OK" that never ran,
 * a GET answered with another command's reply.
 *
 * The guard makes the client's command queue hand out commands to write only while the connection
 * is ready, or while a socket that connected has not failed since (its handshake); otherwise they
 * stay queued and go out after the next handshake, as node-redis intends. It uses the client's events
 * (`connect`, `ready`, `error`), its `isReady`, and `_getQueue().commandsToWrite()` (node-redis's own
 * accessor, which its cluster uses): where a node-redis has none of these, nothing is changed.
 */

/** The part of a node-redis client the guard uses (`createClient()` returns a proxy of the instance, `_self`). */
interface GuardedClient {
  readonly isReady: boolean;
  _self?: GuardedClient;
  on?(event: 'connect' | 'ready' | 'error', listener: () => void): unknown;
  _getQueue?(): { commandsToWrite?: () => Iterable<unknown> } | undefined;
}

/** What the guard knows about the client's connection, for the handshake that is under way. */
export interface NodeRedisConnectionWatch {
  /** Sockets connected so far (0 before the first `connect` event seen). */
  readonly connections: number;
  /** Whether the socket counted as `connection` failed (it connected, then failed before being ready). */
  failedDuring(connection: number): boolean;
}

const guarded = new WeakMap<object, NodeRedisConnectionWatch>();

/**
 * Installs the guard on a node-redis client (once; the same watch is returned afterwards).
 * `handshaking`: whether a socket has connected and is in its handshake now (a client first seen
 * during its handshake); undefined when the client's internals are not the expected ones.
 */
export function guardNodeRedisWrites(
  client: unknown,
  handshaking = false,
): NodeRedisConnectionWatch | undefined {
  const proxy = client as GuardedClient | null;
  if (typeof proxy !== 'object' || proxy === null) return undefined;
  const instance = proxy._self ?? proxy;
  const existing = guarded.get(instance);
  if (existing !== undefined) return existing;
  const queue = typeof instance._getQueue === 'function' ? instance._getQueue() : undefined;
  const commandsToWrite = queue?.commandsToWrite;
  if (queue === undefined || typeof commandsToWrite !== 'function' || typeof instance.on !== 'function') {
    return undefined;
  }
  let connections = handshaking ? 1 : 0;
  let inHandshake = handshaking;
  let failedConnection = -1;
  instance.on('connect', () => {
    connections += 1;
    inHandshake = true;
  });
  instance.on('ready', () => {
    inHandshake = false;
  });
  // node-redis marks the connection not ready before it reports a socket's failure; an `error`
  // while ready (a failed PING of `pingInterval`) leaves the socket in use.
  instance.on('error', () => {
    if (instance.isReady) return;
    inHandshake = false;
    failedConnection = connections;
  });
  const nothing: unknown[] = [];
  // An own property of the queue: one check per write, nothing per command.
  queue.commandsToWrite = function (this: unknown) {
    return instance.isReady || inHandshake ? commandsToWrite.call(this) : nothing;
  };
  const watch: NodeRedisConnectionWatch = {
    get connections() {
      return connections;
    },
    failedDuring: (connection) => failedConnection === connection,
  };
  guarded.set(instance, watch);
  return watch;
}
