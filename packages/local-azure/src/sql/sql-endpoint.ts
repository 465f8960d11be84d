import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { listenOn } from '../http/listen-on.js';
import { listenOnLoopback } from '../http/listen-on-loopback.js';
import { defaultLoginTimeoutMilliseconds } from './message-limits.js';
import { NotesTable } from './query-handler.js';
import { type SessionHost, type SqlPrincipal, SqlSession, type TokenVerifier } from './sql-session.js';

export type { SqlPrincipal, TokenVerifier };

/** Options of `startSqlEndpoint()`. */
export interface SqlEndpointOptions {
  /** Checks signature, issuer and lifetime (e.g. the identity endpoint's `verifyToken`). */
  tokenVerifier: TokenVerifier;
  /** PEM server certificate and key, e.g. from `ensureLocalCertificateAuthority()`. */
  tls: { cert: string; key: string };
  /**
   * Default `localhost`: listens on 127.0.0.1 and ::1 (one port), so a client given `localhost` —
   * a name the certificate covers, so TLS needs no IP address as server name — connects on the first
   * address it tries. Any other value is listened on as it is.
   */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The one database; default `keyless`. */
  database?: string;
  /** The database users created FROM EXTERNAL PROVIDER; a token whose `oid` is not here is refused. */
  principals?: SqlPrincipal[];
  /** What `@@SERVERNAME` and messages say; default `keyless-local`. */
  serverName?: string;
  /**
   * The server's Entra tenant: the STS URL sent in FEDAUTHINFO, and, when set, the `tid` every token
   * must carry. Default: `common`, and no tenant check.
   */
  tenantId?: string;
  /** A connection that has not logged in by then is closed. Default 30 000 (ms). */
  loginTimeoutMs?: number;
}

/** Login and query counters, for tests that assert how often clients logged in. */
export interface SqlEndpointCounters {
  /** Successful logins. */
  readonly logins: number;
  readonly failedLogins: number;
  /** SQL batches and RPC requests (transaction manager requests are not counted). */
  readonly queries: number;
  readonly openConnections: number;
  /**
   * Bytes the endpoint holds for all connections right now: received but not yet handled (partial
   * packets and messages, queued requests). Bounded per connection by the limits in the README.
   */
  readonly bufferedBytes: number;
  /** The highest `bufferedBytes` since the start or the last `reset()`. */
  readonly peakBufferedBytes: number;
  /** Sets every counter back to zero. */
  reset(): void;
}

/** A running local SQL (TDS) endpoint: its address, principal table and counters. */
export interface SqlEndpoint {
  /** What clients should connect to: `localhost` unless the `host` option said otherwise. */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Creates a database user for an identity, as `CREATE USER … FROM EXTERNAL PROVIDER` does. */
  addPrincipal(principal: SqlPrincipal): void;
  /** Drops the identity's database user: its next login fails with 18456. */
  removePrincipal(objectId: string): void;
  readonly counters: SqlEndpointCounters;
  /** Closes the listener and every connection; calling it again is harmless. */
  stop(): Promise<void>;
}

const endpointVersion = '0.1.0';

/**
 * A local Azure SQL endpoint: a TDS protocol peer for the managed-identity authentication path
 * (TLS both ways tedious speaks it, FEDAUTH both ways, token checks, a principal table), answering
 * a small documented set of statements. It is not a database.
 */
export async function startSqlEndpoint(options: SqlEndpointOptions): Promise<SqlEndpoint> {
  const host = options.host ?? 'localhost';
  const database = options.database ?? 'keyless';
  const serverName = options.serverName ?? 'keyless-local';
  const principals = new Map<string, SqlPrincipal>();
  for (const principal of options.principals ?? [])
    principals.set(principal.objectId.toLowerCase(), principal);
  const sessions = new Set<SqlSession>();
  const count = { logins: 0, failedLogins: 0, queries: 0, bufferedBytes: 0, peakBufferedBytes: 0 };
  const loginTimeoutMilliseconds = options.loginTimeoutMs ?? defaultLoginTimeoutMilliseconds;
  if (!Number.isInteger(loginTimeoutMilliseconds) || loginTimeoutMilliseconds < 1) {
    throw new RangeError(
      `SQL endpoint: loginTimeoutMs must be a whole number of milliseconds >= 1, got ${loginTimeoutMilliseconds}`,
    );
  }
  let stopping: Promise<void> | undefined;
  let lastSpid = 50; // user sessions start above the system ones, as in SQL Server

  const sessionHost: SessionHost = {
    tokenVerifier: options.tokenVerifier,
    secureContext: createSecureContext({ cert: options.tls.cert, key: options.tls.key }),
    database,
    serverName,
    tenantId: options.tenantId,
    versionText:
      `keyless local SQL endpoint ${endpointVersion} — a TDS protocol peer for the managed-identity ` +
      `authentication path, not a database (answers like Microsoft SQL Azure (RTM) - 12.0.2000.8)`,
    notes: new NotesTable(),
    loginTimeoutMilliseconds,
    findPrincipal: (objectId) => principals.get(objectId.toLowerCase()),
    nextSpid: () => {
      lastSpid = lastSpid >= 32_000 ? 51 : lastSpid + 1;
      return lastSpid;
    },
    recordLogin: (succeeded) => {
      if (succeeded) count.logins += 1;
      else count.failedLogins += 1;
    },
    recordQuery: () => {
      count.queries += 1;
    },
    recordBufferedBytes: (delta) => {
      count.bufferedBytes += delta;
      count.peakBufferedBytes = Math.max(count.peakBufferedBytes, count.bufferedBytes);
    },
    sessionClosed: (session) => {
      sessions.delete(session);
    },
  };

  const acceptConnection = (socket: Socket): void => {
    if (stopping !== undefined) {
      socket.destroy();
      return;
    }
    sessions.add(new SqlSession(socket, sessionHost));
  };
  const newServer = (): Server => {
    const server = createServer(acceptConnection);
    // A listener error after start (none expected on loopback) must not crash the host process.
    server.on('error', () => {});
    return server;
  };
  let servers: Server[];
  let port: number;
  if (host === 'localhost') {
    ({ servers, port } = await listenOnLoopback(newServer, options.port ?? 0));
  } else {
    const server = newServer();
    servers = [server];
    port = await listenOn(server, host, options.port ?? 0);
  }

  return {
    host,
    port,
    database,
    addPrincipal(principal) {
      principals.set(principal.objectId.toLowerCase(), principal);
    },
    removePrincipal(objectId) {
      principals.delete(objectId.toLowerCase());
    },
    counters: {
      get logins() {
        return count.logins;
      },
      get failedLogins() {
        return count.failedLogins;
      },
      get queries() {
        return count.queries;
      },
      get openConnections() {
        return sessions.size;
      },
      get bufferedBytes() {
        return count.bufferedBytes;
      },
      get peakBufferedBytes() {
        return count.peakBufferedBytes;
      },
      reset() {
        count.logins = 0;
        count.failedLogins = 0;
        count.queries = 0;
        count.peakBufferedBytes = count.bufferedBytes;
      },
    },
    stop() {
      stopping ??= (async () => {
        const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        for (const session of [...sessions]) session.close();
        await Promise.all(closed);
      })();
      return stopping;
    },
  };
}
