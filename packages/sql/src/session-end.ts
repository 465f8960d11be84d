import type { Connection } from 'tedious';

/**
 * Whether the server has already ended this session's stream of answers. A server closes an idle
 * session gracefully when the database is reconfigured (Azure SQL drops the sessions of a database
 * that moves: https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues),
 * and tedious only notices at the next request, which then fails with "unexpected end of message
 * stream" — although nothing of it can have run. tedious has no public way to ask, so this reads
 * its message reader (MessageIO's incoming stream, which the socket or TLS stream is piped into and
 * ends when it ends); on a tedious without it, the answer is "not ended" and requests fail as before.
 */
export function sessionEndedByServer(connection: Connection): boolean {
  const incoming = (connection as unknown as { messageIo?: { incomingMessageStream?: unknown } }).messageIo
    ?.incomingMessageStream;
  return (incoming as { writableEnded?: unknown } | undefined)?.writableEnded === true;
}
