import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { listenOn } from '../http/listen-on.js';
import { listenOnLoopback } from '../http/listen-on-loopback.js';
import { defaultLoginTimeoutMilliseconds } from './message-limits.js';
import { NotesTable } from './query-handler.js';
import {
  type ExistingSessionsDuringReconfiguration,
  type ReconfigureOptions,
  type SqlEndpointFaults,
  SqlFaultState,
  type TokenRecheckErrorNumber,
  type TokenRecheckOptions,
} from './sql-faults.js';
import { type SessionHost, type SqlPrincipal, SqlSession, type TokenVerifier } from './sql-session.js';
import type { TransientLoginErrorNumber } from './transient-errors.js';

export type {
  ExistingSessionsDuringReconfiguration,
  ReconfigureOptions,
  SqlEndpointFaults,
  SqlPrincipal,
  TokenRecheckErrorNumber,
  TokenRecheckOptions,
  TokenVerifier,
  TransientLoginErrorNumber,
};

/**
 * How clients reach the database (https://learn.microsoft.com/azure/azure-sql/database/connectivity-architecture):
 * `'proxy'`, every packet through the gateway on 1433 (the default from outside Azure), or
 * `'redirect'`, the gateway hands the client to the node hosting the database on a port in
 * 11000–11999 (the default from inside Azure).
 */
export type SqlConnectionPolicy = 'proxy' | 'redirect';

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
  /**
   * `'proxy'` (default): sessions live on `port`. `'redirect'`: `port` is the gateway, which accepts
   * the login, answers with a routing ENVCHANGE to a second listener (`redirectPort`) and hangs up;
   * the client logs in again there, and that listener checks everything the gateway did.
   */
  connectionPolicy?: SqlConnectionPolicy;
  /** The second listener's port under `'redirect'`; default 0, a free port (Azure uses 11000–11999). */
  redirectPort?: number;
}

/** Login and query counters, for tests that assert how often clients logged in. */
export interface SqlEndpointCounters {
  /** Successful logins. */
  readonly logins: number;
  readonly failedLogins: number;
  /** SQL batches and RPC requests (transaction manager requests are not counted). */
  readonly queries: number;
  readonly openConnections: number;
  /** Logins the gateway answered with a routing redirect (connection policy `'redirect'`). */
  readonly redirects: number;
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
  /** `'proxy'` or `'redirect'`, as started. */
  readonly connectionPolicy: SqlConnectionPolicy;
  /** Under `'redirect'`, the port of the listener the gateway sends clients to; otherwise undefined. */
  readonly redirectPort: number | undefined;
  /** Reconfigurations and mid-session token re-validation, as Azure SQL does them. */
  readonly faults: SqlEndpointFaults;
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
  const count = {
    logins: 0,
    failedLogins: 0,
    queries: 0,
    redirects: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
  };
  const connectionPolicy = options.connectionPolicy ?? 'proxy';
  if (connectionPolicy !== 'proxy' && connectionPolicy !== 'redirect') {
    throw new RangeError("SQL endpoint: connectionPolicy must be 'proxy' or 'redirect'");
  }
  const loginTimeoutMilliseconds = options.loginTimeoutMs ?? defaultLoginTimeoutMilliseconds;
  if (!Number.isInteger(loginTimeoutMilliseconds) || loginTimeoutMilliseconds < 1) {
    throw new RangeError(
      `SQL endpoint: loginTimeoutMs must be a whole number of milliseconds >= 1, got ${loginTimeoutMilliseconds}`,
    );
  }
  let stopping: Promise<void> | undefined;
  let lastSpid = 50; // user sessions start above the system ones, as in SQL Server
  const faults = new SqlFaultState((existingSessions) => {
    if (existingSessions === 'keep') return;
    for (const session of [...sessions]) {
      if (!session.isLoggedIn) continue;
      if (existingSessions === 'kill') session.close();
      else session.closeWhenIdle();
    }
  });

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
    faults,
    redirectTarget: undefined,
    recordRedirect: () => {
      count.redirects += 1;
    },
  };

  const listen = async (
    sessionHostOfListener: SessionHost,
    requestedPort: number,
  ): Promise<{ servers: Server[]; port: number }> => {
    const acceptConnection = (socket: Socket): void => {
      if (stopping !== undefined) {
        socket.destroy();
        return;
      }
      sessions.add(new SqlSession(socket, sessionHostOfListener));
    };
    const newServer = (): Server => {
      const server = createServer(acceptConnection);
      // A listener error after start (none expected on loopback) must not crash the host process.
      server.on('error', () => {});
      return server;
    };
    if (host === 'localhost') return listenOnLoopback(newServer, requestedPort);
    const server = newServer();
    return { servers: [server], port: await listenOn(server, host, requestedPort) };
  };

  const servers: Server[] = [];
  let redirectPort: number | undefined;
  let port: number;
  try {
    if (connectionPolicy === 'redirect') {
      // The node first, so the gateway knows where to send clients. The name is the endpoint's
      // host (`localhost` by default): tedious verifies the node's certificate against it.
      const node = await listen(sessionHost, options.redirectPort ?? 0);
      servers.push(...node.servers);
      redirectPort = node.port;
      const gatewayHost: SessionHost = { ...sessionHost, redirectTarget: { server: host, port: node.port } };
      const gateway = await listen(gatewayHost, options.port ?? 0);
      servers.push(...gateway.servers);
      port = gateway.port;
    } else {
      const proxy = await listen(sessionHost, options.port ?? 0);
      servers.push(...proxy.servers);
      port = proxy.port;
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }

  return {
    host,
    port,
    database,
    connectionPolicy,
    redirectPort,
    faults,
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
      get redirects() {
        return count.redirects;
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
        count.redirects = 0;
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
