import type { Connection } from 'tedious';

/** The parts of tedious's private state read here; any of them may be missing on another version. */
interface TediousInternals {
  socket?: { destroyed?: unknown; _readableState?: { ended?: unknown } };
  messageIo?: { incomingMessageStream?: { writableEnded?: unknown } };
}

/**
 * Whether the server has already ended this session, as far as this process has read: checked
 * synchronously before every request, so that a request is not sent into a closed session.
 *
 * A server closes an idle session gracefully when the database is reconfigured (Azure SQL drops the
 * sessions of a database that moves: https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues),
 * often right behind the last answer, and tedious only notices at the next request, which then
 * fails with "unexpected end of message stream" — although nothing of it can have run. tedious has
 * no public way to ask, so this reads, from the earliest signal to the latest:
 * - the socket's readable state: `ended` is set the moment the end of the stream is read, before
 *   Node emits 'end' (a tick later) and before tedious has parsed the answer in front of it;
 * - a destroyed socket;
 * - tedious's message reader (MessageIO's incoming stream, which the socket or TLS stream is piped
 *   into and ends when it ends).
 * On a tedious without them the answer is "not ended", and a request sent into a closed session is
 * run again by the connector as `closed-unanswered` (pooled-connection.ts).
 */
export function sessionEndedByServer(connection: Connection): boolean {
  const internals = connection as unknown as TediousInternals;
  const socket = internals.socket;
  if (socket !== undefined && socket !== null) {
    if (socket.destroyed === true || socket._readableState?.ended === true) return true;
  }
  return internals.messageIo?.incomingMessageStream?.writableEnded === true;
}
