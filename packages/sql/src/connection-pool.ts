import { isKeylessError, ServiceUnavailableError } from '@keyless/core';
import { Pool, TimeoutError } from 'tarn';
import type { LoginProgress } from './connection-factory.js';
import { tokenProviderSlowHint } from './login-error-mapping.js';
import type { PooledConnection } from './pooled-connection.js';
import type { SqlPoolOptions } from './sql-options.js';

/**
 * The pool's counts at one moment, e.g. for a health endpoint or a log line: plain data, not the
 * pool. keyless does not hand out its pool, because connections taken from it directly would skip
 * the validation before reuse, the release that retires broken or old connections, and the typed
 * errors.
 */
export interface SqlPoolStatus {
  /** Connections open or being opened (in use + idle + logging in); never more than `max`. */
  readonly size: number;
  /** Open connections waiting for a query. */
  readonly idle: number;
  /** Queries waiting for a connection. */
  readonly pendingAcquires: number;
}

export interface ConnectionPoolOptions {
  settings: Required<SqlPoolOptions>;
  /** Opens and logs in a connection, or rejects with a keyless error. */
  open(): Promise<PooledConnection>;
  /** Describes the server in the acquire-timeout message. */
  describeServer: string;
  /**
   * Longest a create (every login attempt and its backoff) may take before tarn gives up on it; a
   * query waiting for a login that rides out a transient error waits up to acquireTimeoutMs plus this.
   */
  createTimeoutMs: number;
  /** What logins under way are waiting for, to explain an acquire that timed out during one. */
  progress?: LoginProgress;
  now?: () => number;
}

/** How often a query waiting for a login that rides out a transient error looks again. */
const ridingOutCheckMs = 250;

/**
 * tarn with one addition: an idle connection that died (server restart, failover, idle
 * disconnect) or outlived its maximum age leaves the pool at once, so `size` counts only
 * connections that are really open and nothing waits for the next acquire to notice.
 */
class EvictingPool<T> extends Pool<T> {
  /** Every connection open now: idle ones, and ones handed out. */
  resources(): T[] {
    return [...this.free, ...this.used].map((entry) => entry.resource);
  }

  evict(resource: T): boolean {
    if (this.destroyed) return false;
    const index = this.free.findIndex((entry) => entry.resource === resource);
    if (index === -1) return false;
    const [entry] = this.free.splice(index, 1);
    entry?.settle();
    void this._destroy(resource);
    this._tryAcquireOrCreate();
    return true;
  }
}

/**
 * tarn (the pool `mssql` uses) around logged-in connections. A connection is handed out only if
 * it is still open, has seen no error and is younger than `maxLifetimeMs` (validated before every
 * reuse); one that fails this on release, or dies while idle, is closed and evicted at once.
 */
export class ConnectionPool {
  readonly #pool: EvictingPool<PooledConnection>;
  readonly #settings: Required<SqlPoolOptions>;
  readonly #describeServer: string;
  readonly #now: () => number;
  readonly #progress: LoginProgress | undefined;
  readonly #createTimeoutMs: number;
  /** The last login that failed, and when: a query that waited for logins is told why they failed. */
  #lastLoginFailure: { at: number; error: unknown } | undefined;

  constructor(options: ConnectionPoolOptions) {
    this.#settings = options.settings;
    this.#progress = options.progress;
    this.#describeServer = options.describeServer;
    this.#createTimeoutMs = options.createTimeoutMs;
    this.#now = options.now ?? Date.now;
    const now = this.#now;
    const { maxLifetimeMs } = options.settings;
    this.#pool = new EvictingPool<PooledConnection>({
      create: async () => {
        let connection: PooledConnection;
        try {
          connection = await options.open();
        } catch (error) {
          this.#lastLoginFailure = { at: now(), error };
          throw error;
        }
        connection.onLost(() => this.#pool.evict(connection));
        return connection;
      },
      destroy: (connection) => connection.close(),
      validate: (connection) => connection.isReusable(now(), maxLifetimeMs),
      min: options.settings.min,
      max: options.settings.max,
      // The hard bound; acquire() ends the wait after acquireTimeoutMs unless a login rides out a
      // transient error (tarn's timeout would not know the difference).
      acquireTimeoutMillis: options.settings.acquireTimeoutMs + options.createTimeoutMs,
      idleTimeoutMillis: options.settings.idleTimeoutMs,
      reapIntervalMillis: Math.min(1_000, options.settings.idleTimeoutMs),
      // A failed login rejects the query that waited for it with the mapped error, rather than
      // being retried silently until the acquire times out (the factory already retried transient ones).
      propagateCreateError: true,
      createTimeoutMillis: options.createTimeoutMs,
      createRetryIntervalMillis: 200,
    });
  }

  /** A snapshot: later changes of the pool do not change it. */
  status(): SqlPoolStatus {
    return Object.freeze({
      size: this.#pool.numUsed() + this.#pool.numFree() + this.#pool.numPendingCreates(),
      idle: this.#pool.numFree(),
      pendingAcquires: this.#pool.numPendingAcquires(),
    });
  }

  /**
   * A connection, validated. Waiting for one ends after `acquireTimeoutMs` — unless a login is riding
   * out a transient error (a reconfiguration): then the query waits for it, up to acquireTimeoutMs
   * plus the longest a login may take, and fails at once with the login's error if it gives up.
   */
  acquire(): Promise<PooledConnection> {
    const pending = this.#pool.acquire();
    const startedAt = this.#now();
    const hardDeadline = startedAt + this.#settings.acquireTimeoutMs + this.#createTimeoutMs;
    return new Promise<PooledConnection>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void) => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        outcome();
        return true;
      };
      const endWait = () => {
        const now = this.#now();
        const failedLogin = this.#lastLoginFailure;
        if (failedLogin !== undefined && failedLogin.at >= startedAt && isKeylessError(failedLogin.error)) {
          // A login gave up (its whole budget) while this query waited: the next would fare no better now.
          settle(() => reject(failedLogin.error));
        } else if ((this.#progress?.loginsRidingOut ?? 0) > 0 && now < hardDeadline) {
          timer = setTimeout(endWait, Math.min(ridingOutCheckMs, hardDeadline - now));
          return;
        } else {
          settle(() => reject(this.#timeoutError()));
        }
        pending.abort();
      };
      timer = setTimeout(endWait, this.#settings.acquireTimeoutMs);
      pending.promise.then(
        (connection) => {
          // Handed over just as the wait ended: back to the pool, or it would be held forever.
          if (!settle(() => resolve(connection))) this.release(connection);
        },
        (error: unknown) => settle(() => reject(this.#acquireError(error))),
      );
    });
  }

  /**
   * Azure SQL said a token is expired: every connection logged in with a token that expires no
   * later than `tokenExpiresOn` would hear the same, so none is handed out again (idle ones close
   * now, ones in use when they come back).
   */
  retireTokensExpiringBy(tokenExpiresOn: number | undefined): void {
    for (const connection of this.#pool.resources()) {
      const expiry = connection.tokenExpiresOn;
      if (tokenExpiresOn !== undefined && (expiry === undefined || expiry > tokenExpiresOn)) continue;
      connection.retire();
      this.#pool.evict(connection);
    }
  }

  /** Returns a connection; one that is broken or too old is closed now instead of waiting for reuse. */
  release(connection: PooledConnection): void {
    this.#pool.release(connection);
    if (!connection.isReusable(this.#now(), this.#settings.maxLifetimeMs)) this.#pool.evict(connection);
  }

  /** Waits for connections in use to come back, then closes every connection. */
  async drain(): Promise<void> {
    await this.#pool.destroy();
  }

  #acquireError(error: unknown): unknown {
    if (isKeylessError(error)) return error;
    if (error instanceof TimeoutError) return this.#timeoutError(error);
    return error;
  }

  /** Why a query got no connection in time, from what the pool is doing now. */
  #timeoutError(cause?: TimeoutError): ServiceUnavailableError {
    if (this.#pool.numUsed() === 0 && this.#pool.numPendingCreates() > 0) return this.#loginTooSlow(cause);
    return new ServiceUnavailableError(
      `No Azure SQL connection to ${this.#describeServer} became free within ${this.#settings.acquireTimeoutMs} ms (pool max ${this.#settings.max})`,
      {
        cause,
        hint: 'queries hold connections longer than expected, or more run at once than the pool allows: raise pool.max or pool.acquireTimeoutMs, or shorten transactions',
      },
    );
  }

  /** No connection was busy: the wait was for a login, and "raise pool.max" would mislead. */
  #loginTooSlow(cause: TimeoutError | undefined): ServiceUnavailableError {
    const waited = `No Azure SQL connection to ${this.#describeServer} within pool.acquireTimeoutMs (${this.#settings.acquireTimeoutMs} ms)`;
    if ((this.#progress?.pendingTokenRequests ?? 0) > 0) {
      return new ServiceUnavailableError(
        `${waited}: the login is waiting for a token, and the token provider has not answered`,
        { cause, hint: tokenProviderSlowHint },
      );
    }
    return new ServiceUnavailableError(`${waited}: the login was still under way`, {
      cause,
      hint: 'the server answers slowly or not at all: check that it resolves and is reachable from here (firewall rules, private endpoint); if it is only slow, raise pool.acquireTimeoutMs and connectTimeoutMs',
    });
  }
}
