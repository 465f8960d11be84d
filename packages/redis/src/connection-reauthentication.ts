import type { Redis } from 'ioredis';
import { isResp2Subscriber } from './ioredis-internals.js';
import { isAuthenticationFailure } from './redis-error-mapping.js';

/** What re-authenticating one connection came to. */
export type ReauthenticationOutcome =
  /** The server accepted the new token on the live connection. */
  | { kind: 'accepted' }
  /** Not connected (or it went away meanwhile): its next handshake sends the newest token. */
  | { kind: 'not-connected' }
  /** Reconnected instead, so that its handshake sends the newest token. */
  | { kind: 'reconnected'; reason: 'resp2-subscriber' | 'no-answer' }
  /** The server refused the token (WRONGPASS): the connection keeps its old one until it expires. */
  | { kind: 'refused'; error: unknown }
  /** Anything else went wrong; the connection was reconnected to get the newest token in. */
  | { kind: 'failed'; error: unknown };

export interface Login {
  user: string | undefined;
  password: string;
}

/**
 * Makes one live connection use `login` before Azure closes it for an expired token:
 *
 * - `AUTH` is an ordinary command queued behind what the connection already sent, so it never
 *   splits a MULTI/EXEC that ioredis writes as one pipeline, and RESP3 allows it while subscribed.
 * - A connection subscribed over RESP2 may send only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT
 *   and RESET: it is reconnected instead (ioredis resubscribes it; a message published during
 *   that reconnect is missed, as with any reconnect).
 * - An `AUTH` with no answer within `answerTimeoutMs` (stuck behind a `BLPOP key 0`) reconnects
 *   the connection: ioredis re-sends the blocked command afterwards.
 *
 * The token is in the failed command's arguments: callers keep only `sanitizedCause(error)`.
 */
export async function reauthenticateConnection(
  client: Redis,
  login: Login,
  answerTimeoutMs: number,
): Promise<ReauthenticationOutcome> {
  if (client.status !== 'ready') return { kind: 'not-connected' };
  if (isResp2Subscriber(client)) {
    client.disconnect(true);
    return { kind: 'reconnected', reason: 'resp2-subscriber' };
  }
  const sent =
    login.user === undefined
      ? client.call('AUTH', login.password)
      : client.call('AUTH', login.user, login.password);
  const answer = sent.then(
    () => ({ kind: 'accepted' }) as const,
    (error: unknown) => ({ kind: 'error', error }) as const,
  );
  let timer: NodeJS.Timeout | undefined;
  const noAnswer = new Promise<{ kind: 'no-answer' }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'no-answer' }), answerTimeoutMs);
    timer.unref();
  });
  const result = await Promise.race([answer, noAnswer]);
  clearTimeout(timer);
  if (result.kind === 'accepted') return result;
  if (result.kind === 'no-answer') {
    if (client.status !== 'ready') return { kind: 'not-connected' };
    client.disconnect(true);
    return { kind: 'reconnected', reason: 'no-answer' };
  }
  if (isAuthenticationFailure(result.error)) return { kind: 'refused', error: result.error };
  // The connection closed under it: the reconnect's handshake sends the newest token.
  if (client.status !== 'ready') return { kind: 'not-connected' };
  client.disconnect(true);
  return { kind: 'failed', error: result.error };
}
