import { inspect } from 'node:util';
import { backoffDelay } from '@keyless/core';
import type { Redis } from 'ioredis';
import type { RedisCredentials } from './redis-credentials.js';
import { isAuthenticationFailure, mapRedisError, type RedisErrorContext } from './redis-error-mapping.js';

export interface ConnectionHookContext {
  credentials: RedisCredentials;
  errorContext: RedisErrorContext;
  isClosed(): boolean;
  /** A connection finished its handshake (and is ready for commands). */
  onReady(client: Redis): void;
  /** What `client.duplicate()` does: a connection the connector tracks. */
  duplicate(override: Parameters<Redis['duplicate']>[0]): Redis;
  /** The printable view of the client. */
  describe(client: Redis): Record<string, unknown>;
}

type RecoverFromFatalError = Redis['recoverFromFatalError'];

/**
 * Wires one ioredis client to keyless's credentials:
 *
 * - `client.options.password` is an accessor that always answers the newest password or token:
 *   ioredis reads it at every (re)connect, and has no asynchronous password hook.
 * - A handshake refused with WRONGPASS/NOAUTH fetches the credentials afresh and reconnects
 *   without flushing the offline queue, so commands issued meanwhile are sent once it is ready
 *   instead of failing. A second refusal in a row fails them with AuthenticationFailedError.
 * - The client prints (inspect, JSON) without its options, whose password is the secret.
 */
export function installConnectionHooks(client: Redis, context: ConnectionHookContext): void {
  const { credentials } = context;
  Object.defineProperty(client.options, 'password', {
    get: () => credentials.password,
    set: () => {
      // keyless owns the password: a value set from outside would go stale at the next rotation.
    },
    enumerable: false,
    configurable: true,
  });
  Object.defineProperty(client.options, 'username', {
    value: credentials.username,
    writable: false,
    enumerable: true,
    configurable: true,
  });

  let consecutiveFailures = 0;
  let recoveries = 0;
  let lastRecoveryAt = Number.NEGATIVE_INFINITY;
  // ioredis (5.x and 6.x) routes a refused handshake here, which would reject every queued command.
  const original: RecoverFromFatalError = client.recoverFromFatalError.bind(client);
  client.recoverFromFatalError = (commandError, error, flushOptions) => {
    if (context.isClosed() || !isAuthenticationFailure(error)) {
      original(commandError, error, flushOptions);
      return;
    }
    consecutiveFailures += 1;
    if (consecutiveFailures === 1) {
      // Most likely the secret was rotated (or the token expired): the queued commands wait while
      // we fetch afresh, then this half-open connection is replaced by one using the new value.
      const epoch = connectionEpochOf(client);
      lastRecoveryAt = Date.now();
      recoveries = 1;
      credentials
        .recover()
        .catch(() => false)
        .finally(() => {
          if (context.isClosed()) return;
          if (connectionEpochOf(client) === epoch && client.status === 'connect') client.disconnect(true);
        });
      return;
    }
    const mapped = mapRedisError(error, context.errorContext) as Error;
    // Fresh credentials again for the next attempt, but not at reconnect speed: Key Vault has limits.
    const now = Date.now();
    if (now - lastRecoveryAt >= backoffDelay(recoveries, { baseDelayMs: 1000, maxDelayMs: 30_000 })) {
      lastRecoveryAt = now;
      recoveries += 1;
      credentials.recover().catch(() => false);
    }
    original(mapped, mapped, flushOptions);
    rejectCommandsAwaitingResend(client, mapped);
  };

  client.on('ready', () => {
    consecutiveFailures = 0;
    recoveries = 0;
    context.onReady(client);
  });

  client.duplicate = (override) => context.duplicate(override);

  const describe = () => context.describe(client);
  Object.defineProperty(client, 'toJSON', { value: describe, enumerable: false, configurable: true });
  Object.defineProperty(client, inspect.custom, {
    value: (_depth: number, options: object) => `Redis ${inspect(describe(), options)}`,
    enumerable: false,
    configurable: true,
  });
}

/** The password a live connection authenticated with at its last (re)connect. */
export function handshakePasswordOf(client: Redis): string | undefined {
  const auth = (client.condition as { auth?: unknown } | null)?.auth;
  if (Array.isArray(auth)) return typeof auth[1] === 'string' ? auth[1] : undefined;
  return typeof auth === 'string' ? auth : undefined;
}

/**
 * Commands in flight when a connection dropped wait in ioredis's `prevCommandQueue` to be re-sent
 * after the next successful handshake, which flushQueue() leaves alone. When the credentials are
 * refused for good they would wait indefinitely; they fail with the same typed error instead.
 */
function rejectCommandsAwaitingResend(client: Redis, error: Error): void {
  const queue = (client as unknown as { prevCommandQueue?: unknown }).prevCommandQueue as
    | { length: number; shift(): { command?: { reject?: (error: Error) => void } } | undefined }
    | null
    | undefined;
  if (!queue || typeof queue.shift !== 'function') return;
  while (queue.length > 0) queue.shift()?.command?.reject?.(error);
}

function connectionEpochOf(client: Redis): unknown {
  return (client as unknown as { connectionEpoch?: unknown }).connectionEpoch;
}
