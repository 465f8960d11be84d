import { backoffDelay, installRedactedViews } from '@keyless/core/internal';
import type { Redis } from 'ioredis';
import {
  connectionEpochOf,
  handshakePasswordOf,
  isMaxRetriesPerRequestError,
  mapErrorReplies,
  mapFlushedCommandErrors,
  overrideRecoverFromFatalError,
  rejectCommandsAwaitingResend,
} from './ioredis-internals.js';
import type { RedisCredentials } from './redis-credentials.js';
import {
  isAuthenticationFailure,
  mapCommandError,
  mapRedisError,
  type RedisErrorContext,
  unreachableAfterRetries,
} from './redis-error-mapping.js';

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

/** What the connector tells the hooks of one client. */
export interface ConnectionHooks {
  /** The socket connector refused this client's connection for good, with `error`. */
  ended(error: Error): void;
  /** A connection of this client failed: the cause given when queued commands give up. */
  connectionFailed(error: Error): void;
}

/**
 * Wires one ioredis client to keyless's credentials:
 *
 * - `client.options.password` is an accessor that always answers the newest password or token:
 *   ioredis reads it at every (re)connect, and has no asynchronous password hook.
 * - A handshake refused with WRONGPASS/NOAUTH fetches the credentials afresh and reconnects
 *   without flushing the offline queue, so commands issued meanwhile are sent once it is ready
 *   instead of failing. A second refusal in a row fails them with AuthenticationFailedError.
 * - Commands that gave up after `maxRetriesPerRequest` failed reconnects fail with
 *   ServiceUnavailableError (the last connection error as its cause), not ioredis's own error.
 * - When the client ends, commands still waiting to be re-sent fail (with the refusal that ended
 *   it, if any) instead of waiting forever.
 * - A command the access policy does not allow (NOPERM) fails with AuthorizationError, whose hint
 *   names the policy and the command that changes it for this cache's product.
 * - The client prints (inspect, JSON) without its options, whose password is the secret.
 *
 * The ioredis internals this relies on are listed in ioredis-internals.ts.
 */
export function installConnectionHooks(client: Redis, context: ConnectionHookContext): ConnectionHooks {
  const { credentials } = context;
  Object.defineProperty(client.options, 'password', {
    // Undefined before the first fetch: the socket connector sets the handshake's value then.
    get: () => credentials.password,
    set: () => {
      // keyless owns the password: a value set from outside would go stale at the next rotation.
    },
    enumerable: false,
    configurable: true,
  });
  Object.defineProperty(client.options, 'username', {
    value: credentials.user,
    writable: false,
    enumerable: true,
    configurable: true,
  });

  let consecutiveFailures = 0;
  let recoveries = 0;
  let lastRecoveryAt = Number.NEGATIVE_INFINITY;
  // ioredis (5.x and 6.x) routes a refused handshake here, which would reject every queued command.
  overrideRecoverFromFatalError(client, (original) => (commandError, error, flushOptions) => {
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
        .recover(handshakePasswordOf(client))
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
      credentials.recover(handshakePasswordOf(client)).catch(() => false);
    }
    original(mapped, mapped, flushOptions);
    rejectCommandsAwaitingResend(client, mapped);
  });

  let lastConnectionError: Error | undefined;
  mapFlushedCommandErrors(client, (error) =>
    isMaxRetriesPerRequestError(error)
      ? unreachableAfterRetries(error, lastConnectionError, context.errorContext)
      : error,
  );

  // A NOPERM says which access policy to change; the application's other errors are its own.
  mapErrorReplies(client, (error) => mapCommandError(error, context.errorContext) as Error);

  let endedWith: Error | undefined;
  client.on('end', () => {
    rejectCommandsAwaitingResend(client, endedWith ?? new Error('Connection is closed.'));
  });

  client.on('ready', () => {
    endedWith = undefined;
    consecutiveFailures = 0;
    recoveries = 0;
    context.onReady(client);
  });

  client.duplicate = (override) => context.duplicate(override);

  // Where and as whom, never the options (whose password is the secret).
  installRedactedViews(client, () => context.describe(client), 'Redis');

  return {
    ended(error) {
      endedWith = error;
    },
    connectionFailed(error) {
      lastConnectionError = error;
    },
  };
}
