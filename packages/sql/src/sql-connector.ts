import { ClosedError, createTokenProvider, isKeylessError, type TokenProvider } from '@keyless/core';
import {
  installRedactedViews,
  Readiness,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import type { Connection } from 'tedious';
import { assertSqlDestination, newLoginProgress, openConnection } from './connection-factory.js';
import { ConnectionPool, type SqlPoolStatus } from './connection-pool.js';
import { knownTokenScope } from './early-token.js';
import type { SqlParameter } from './parameter-typing.js';
import { type PooledConnection, type RunAgainReason, runAgainReason } from './pooled-connection.js';
import {
  type ResolvedSqlOptions,
  resolveSqlOptions,
  resolveTokenProviderOption,
  type SqlConnectorOptions,
} from './sql-options.js';
import { runInTransaction, type SqlTransaction } from './transaction.js';

/** What `createSqlConnector()` returns: pooled queries and transactions over tedious, and a lifetime. */
export interface SqlConnector {
  /**
   * Runs one statement on a pooled connection and returns its rows as objects by column name
   * (an unnamed column is `column<index>`). Parameters are referenced as `@name` in the SQL.
   */
  query<Row = Record<string, unknown>>(
    sql: string,
    parameters?: Record<string, SqlParameter>,
  ): Promise<Row[]>;
  /** BEGIN on one pooled connection, the work, COMMIT; ROLLBACK and rethrow when the work throws. */
  transaction<T>(work: (transaction: SqlTransaction) => Promise<T>): Promise<T>;
  /**
   * Logs in one pooled connection now and leaves it in the pool (an open one is reused), so that a
   * server out of reach, a missing token or an identity without a database user fails at start-up,
   * with the same typed error the first query would give. Optional: queries connect on demand.
   */
  connect(): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): the first call is
   * `connect()`; once that has succeeded, a call checks only what the process holds — a cached
   * token for the database (Azure SQL and the local stack), or else a pool that still has a
   * connection open — and logs in again only when the pool has none, so a probe every few seconds
   * neither loads the server nor waits behind busy queries. Rejects with the typed error when not
   * ready; the next call then runs `connect()` again.
   */
  ready(): Promise<void>;
  /** The pool's counts now (open, idle, queries waiting): a snapshot, not the pool itself. */
  poolStatus(): SqlPoolStatus;
  /** Waits for queries under way, closes every connection (and the provider it built); idempotent. */
  close(): Promise<void>;
}

/** Test seams of `createSqlConnectorWithInternals` (`@keyless/sql/testing`); not for applications. */
export interface SqlConnectorInternals {
  /** Sees each tedious Connection before it connects (e.g. to listen to its 'debug' events). */
  onConnection?: (connection: Connection) => void;
  /** Clock for connection ages (maximum lifetime). Default `Date.now`. */
  now?: () => number;
}

/**
 * Azure SQL with the shared managed-identity provider: tedious logs in with `token-credential`
 * (the provider itself, one credential for every connection), TLS always on and verified, a
 * connection pool with a maximum connection lifetime, and login errors that say what to grant.
 *
 * Synchronous and lazy: it checks the configuration and opens nothing; the first query (or
 * `connect()`) logs in.
 */
export function createSqlConnector(options: SqlConnectorOptions = {}): SqlConnector {
  return createSqlConnectorWithInternals(options, {});
}

/** `createSqlConnector` with test seams (a hook on each tedious Connection, a clock). */
export function createSqlConnectorWithInternals(
  options: SqlConnectorOptions,
  internals: SqlConnectorInternals,
): SqlConnector {
  warnAboutCredentialPrintingDebugOutput();
  const resolved = resolveSqlOptions(options);
  // Refused here already, so a misconfigured process fails at start-up rather than at the first query.
  assertSqlDestination(resolved.server);
  const givenProvider = resolveTokenProviderOption(options.tokenProvider);
  const ownsProvider = givenProvider === undefined;
  const tokenProvider = givenProvider ?? createTokenProvider();
  return new KeylessSqlConnector(resolved, tokenProvider, ownsProvider, internals);
}

class KeylessSqlConnector implements SqlConnector {
  readonly #resolved: ResolvedSqlOptions;
  readonly #tokenProvider: TokenProvider;
  readonly #ownsProvider: boolean;
  readonly #pool: ConnectionPool;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;
  #readiness: Readiness | undefined;
  /**
   * Queries and transactions admitted before close() and not finished: close lets them finish, even
   * those still waiting for a connection. A count, not a set of promises: nothing extra per query.
   */
  #running = 0;
  /** Called by the last of them to finish, once close() waits. */
  #allFinished: (() => void) | undefined;

  constructor(
    resolved: ResolvedSqlOptions,
    tokenProvider: TokenProvider,
    ownsProvider: boolean,
    internals: SqlConnectorInternals,
  ) {
    this.#resolved = resolved;
    this.#tokenProvider = tokenProvider;
    this.#ownsProvider = ownsProvider;
    const identity = this.#identity();
    const signal = this.#closing.signal;
    const progress = newLoginProgress();
    this.#pool = new ConnectionPool({
      progress,
      settings: resolved.pool,
      describeServer: this.#describeServer(),
      // Room for every login attempt and the waits between them: no retry starts after the budget,
      // and the last attempt may take connectTimeoutMs for the server and as much for the token
      // (login-timeouts.ts), twice when the gateway redirects it to the node.
      createTimeoutMs: resolved.loginRetry.budgetMs + 4 * resolved.connectTimeoutMs + 10_000,
      now: internals.now,
      open: () =>
        openConnection({
          resolved,
          credential: tokenProvider,
          askTokenEarly: ownsProvider || isKeylessTokenProvider(tokenProvider),
          identity,
          signal,
          onConnection: internals.onConnection,
          progress,
          now: internals.now,
        }),
    });
    // What console.log, util.inspect and JSON.stringify show: where, how and as whom; never a token.
    installRedactedViews(
      this,
      () => ({
        server: this.#describeServer(),
        encrypt: this.#resolved.encrypt,
        backend: this.#backend(),
        identity: this.#identity(),
        poolStatus: this.poolStatus(),
        closed: this.#closed !== undefined,
      }),
      'SqlConnector',
    );
  }

  poolStatus(): SqlPoolStatus {
    return this.#pool.status();
  }

  async connect(): Promise<void> {
    this.#admit();
    try {
      this.#pool.release(this.#pool.takeIdle() ?? (await this.#waitForConnection()));
    } finally {
      this.#finish();
    }
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('SqlConnector'));
    this.#readiness ??= new Readiness(
      () => this.connect(),
      async () => {
        const scope = knownTokenScope(this.#resolved.server);
        if (scope !== undefined) await this.#tokenProvider.getToken(scope);
        else if (this.#pool.status().size === 0) await this.connect();
      },
    );
    return this.#readiness.check();
  }

  async query<Row = Record<string, unknown>>(
    sql: string,
    parameters?: Record<string, SqlParameter>,
  ): Promise<Row[]> {
    this.#admit();
    try {
      // The warm path, written out: a free connection taken synchronously, the request, the release —
      // one async layer between the caller and tedious, and no closure or object of its own. A
      // failure goes through #startOnFreshLoginIfRefused's rules like any other start.
      const connection = this.#pool.takeIdle() ?? (await this.#waitForConnection());
      let rows: Row[];
      try {
        rows = await connection.execute<Row>(sql, parameters);
      } catch (error) {
        const rerun = await this.#startOnFreshLoginIfRefused(
          (pooled) => pooled.execute<Row>(sql, parameters),
          { connection, error },
        );
        this.#pool.release(rerun.connection);
        return rerun.result;
      }
      this.#pool.release(connection);
      return rows;
    } finally {
      this.#finish();
    }
  }

  async transaction<T>(work: (transaction: SqlTransaction) => Promise<T>): Promise<T> {
    this.#admit();
    try {
      // Only BEGIN may run again: once the work has started, a statement refused mid-transaction
      // ends it (the server closes the session), and whether to repeat it is the caller's call.
      const { connection } = await this.#startOnFreshLoginIfRefused((pooled) => pooled.beginTransaction());
      try {
        return await runInTransaction(connection, work);
      } finally {
        this.#pool.release(connection);
      }
    } finally {
      this.#finish();
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Work admitted before close() ends on its own terms: acquireTimeoutMs bounds a wait for a
      // connection and tedious's request timeout bounds a query, so this wait is bounded too.
      if (this.#running > 0) await new Promise<void>((resolve) => (this.#allFinished = resolve));
      this.#closing.abort();
      await this.#pool.drain();
      if (this.#ownsProvider) await this.#tokenProvider.close();
    })();
    return this.#closed;
  }

  /**
   * Runs `start` on a pooled connection and hands back the connection, still held, with its result.
   * It runs `start` again on another connection only for the reasons pooled-connection.ts gives
   * (RunAgainReason): once after a refusal for the session's expired token — the connections logged
   * in with that token or an older one are retired first, so the next try gets a fresh login rather
   * than the same answer — and once after a session closed with the request unanswered (the idle
   * connections are retired first: the server dropped them too, unread here yet); and for
   * every pooled connection found closed before the request was sent (a reconfiguration closes all
   * of them), so pool.max + 1 tries at most.
   */
  async #startOnFreshLoginIfRefused<T>(
    start: (connection: PooledConnection) => Promise<T>,
    firstFailure?: { connection: PooledConnection; error: unknown },
  ): Promise<{ connection: PooledConnection; result: T }> {
    // Allocated only when a request is refused: the warm path allocates nothing here.
    let retried: Set<RunAgainReason> | undefined;
    let attempt = 1;
    // query() makes the first try itself (its warm path) and hands its failure over.
    if (firstFailure !== undefined) {
      retried = this.#runAgainOrThrow(firstFailure.connection, firstFailure.error, attempt, retried);
      attempt += 1;
    }
    for (; ; attempt += 1) {
      // A free connection is taken synchronously (no async hop when one is free: the warm path);
      // only a query that finds none awaits the pool.
      const connection = this.#pool.takeIdle() ?? (await this.#waitForConnection());
      try {
        // A session the server has closed is seen synchronously before the request is sent
        // (session-end.ts), and the request goes to another connection as `not-sent`.
        return { connection, result: await start(connection) };
      } catch (error) {
        retried = this.#runAgainOrThrow(connection, error, attempt, retried);
      }
    }
  }

  /**
   * After try number `attempt` failed on `connection`: releases the connection, and throws `error`
   * unless the start may run again (RunAgainReason; each reason once, `not-sent` up to pool.max
   * times), retiring first the connections the same answer would come from. Returns the reasons
   * run again for so far.
   */
  #runAgainOrThrow(
    connection: PooledConnection,
    error: unknown,
    attempt: number,
    retried: Set<RunAgainReason> | undefined,
  ): Set<RunAgainReason> | undefined {
    const reason = runAgainReason(error);
    const again =
      reason === 'not-sent'
        ? attempt <= this.#resolved.pool.max
        : reason !== undefined && !retried?.has(reason);
    let reasons = retried;
    if (reason !== undefined) {
      reasons ??= new Set();
      reasons.add(reason);
    }
    if (again && reason === 'token-expired') this.#pool.retireTokensExpiringBy(connection.tokenExpiresOn);
    if (again && reason === 'closed-unanswered') this.#pool.retireIdle();
    this.#pool.release(connection);
    if (!again) throw error;
    return reasons;
  }

  /** Counts an operation in, or refuses it (ClosedError) once close() has been called. */
  #admit(): void {
    if (this.#closed) throw new ClosedError('SqlConnector');
    this.#running += 1;
  }

  #finish(): void {
    this.#running -= 1;
    if (this.#running === 0) this.#allFinished?.();
  }

  /** Waits for the pool when no connection was free (`takeIdle()` is the warm path, tried first). */
  async #waitForConnection(): Promise<PooledConnection> {
    try {
      return await this.#pool.acquire();
    } catch (error) {
      // The pool aborts waiting acquires with a plain Error when it is destroyed.
      if (this.#closed && !isKeylessError(error)) throw new ClosedError('SqlConnector');
      throw error;
    }
  }

  #describeServer(): string {
    return `${this.#resolved.server}:${this.#resolved.port}/${this.#resolved.database}`;
  }

  /** A caller may pass any TokenCredential-shaped provider; only a keyless one names its backend and identity. */
  #backend(): string {
    const backend: unknown = (this.#tokenProvider as { backend?: unknown }).backend;
    return typeof backend === 'string' ? backend : 'custom';
  }

  #identity(): string {
    const description: unknown = (this.#tokenProvider as { identityDescription?: unknown })
      .identityDescription;
    return typeof description === 'string' ? description : 'the custom credential';
  }
}

/**
 * A provider from @keyless/core (it names its backend): it caches tokens and answers concurrent
 * callers with one request, so asking it early costs no extra request (early-token.ts).
 */
function isKeylessTokenProvider(provider: TokenProvider): boolean {
  const backend: unknown = (provider as { backend?: unknown }).backend;
  return backend === 'azure-identity' || backend === 'msal';
}
