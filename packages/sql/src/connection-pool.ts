import { isKeylessError, ServiceUnavailableError } from '@keyless/core';
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
   * Longest a create (every login attempt and its backoff) may take before the pool gives up on it; a
   * query waiting for a login that rides out a transient error waits up to acquireTimeoutMs plus this.
   */
  createTimeoutMs: number;
  /** What logins under way are waiting for, to explain an acquire that timed out during one. */
  progress?: LoginProgress;
  now?: () => number;
}

/** How often a query waiting for a login that rides out a transient error looks again. */
const ridingOutCheckMs = 250;

/** How soon after a failed login the pool tries again for the queries still waiting (tarn's figure). */
const createRetryIntervalMs = 200;

/** A query waiting for a connection. */
interface Waiter {
  resolve(connection: PooledConnection): void;
  reject(error: unknown): void;
}

/**
 * The pool, written for the query path (issue 11): a free connection is handed out synchronously
 * (`takeIdle`) after a synchronous validation, with no timer, promise or event on the way — what a
 * hand-made free list costs. tarn, which this replaces, armed two timers and about a dozen promise
 * hops per acquire even when a connection was free; the CPU profile showed them as the largest part
 * of keyless's own cost per `SELECT 1` (README, performance). Only a query that must wait gets a timer.
 *
 * A connection is handed out only if it is still open, has seen no error, is younger than
 * `maxLifetimeMs` and its login token is not within its margin of expiring (validated before every
 * hand-out). One known broken when it is released, or that drops while idle, is closed and leaves
 * the pool at once, so `size` counts only connections that are really open; one that merely aged
 * while in use goes back to the idle list and is closed at the next take or reaper tick (≤ 1 s).
 */
export class ConnectionPool {
  readonly #settings: Required<SqlPoolOptions>;
  readonly #open: () => Promise<PooledConnection>;
  readonly #describeServer: string;
  readonly #now: () => number;
  readonly #progress: LoginProgress | undefined;
  readonly #createTimeoutMs: number;
  /**
   * Most recently released last: reuse takes the warmest connection, idle ones age out from the
   * front. Each records since when it is idle itself (`idleSince`), so a release allocates nothing.
   */
  #idle: PooledConnection[] = [];
  /**
   * Connections handed out and not yet released: a count, with the flag on each connection
   * (`lent`), so that a query's take and release touch no hash set (issue 11).
   */
  #inUseCount = 0;
  /**
   * Every connection the pool holds, in use or idle; changed only when one is opened or closed (not
   * per query), for retiring those logged in with an expired token.
   */
  readonly #held = new Set<PooledConnection>();
  /** Logins under way: counted down synchronously when one ends, before its connection is handed over. */
  #opening = 0;
  /** The same logins as promises, for drain() to wait for. */
  readonly #logins = new Set<Promise<void>>();
  /** Queries waiting for a connection, longest first. */
  readonly #waiters: Waiter[] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  #reaper: NodeJS.Timeout | undefined;
  #draining = false;
  /** Called when the last connection in use comes back during drain(). */
  #allReturned: (() => void) | undefined;
  /** The last login that failed, and when: a query that waited for logins is told why they failed. */
  #lastLoginFailure: { at: number; error: unknown } | undefined;

  constructor(options: ConnectionPoolOptions) {
    this.#settings = options.settings;
    this.#open = options.open;
    this.#progress = options.progress;
    this.#describeServer = options.describeServer;
    this.#createTimeoutMs = options.createTimeoutMs;
    this.#now = options.now ?? Date.now;
  }

  /** A snapshot: later changes of the pool do not change it. */
  status(): SqlPoolStatus {
    return Object.freeze({
      size: this.#inUseCount + this.#idle.length + this.#opening,
      idle: this.#idle.length,
      pendingAcquires: this.#waiters.length,
    });
  }

  /**
   * A free connection that passes validation, now, or undefined (then `acquire()` waits for one).
   * Free connections that fail validation are closed on the way.
   */
  takeIdle(): PooledConnection | undefined {
    if (this.#draining) return undefined;
    for (let connection = this.#idle.pop(); connection !== undefined; connection = this.#idle.pop()) {
      if (connection.isReusable(this.#now(), this.#settings.maxLifetimeMs)) {
        this.#lend(connection);
        return connection;
      }
      this.#discard(connection);
    }
    return undefined;
  }

  /**
   * A connection, validated. Waiting for one ends after `acquireTimeoutMs` — unless a login is riding
   * out a transient error (a reconfiguration): then the query waits for it, up to acquireTimeoutMs
   * plus the longest a login may take, and fails at once with the login's error if it gives up.
   */
  acquire(): Promise<PooledConnection> {
    if (this.#draining) return Promise.reject(new Error('the pool is closed'));
    const free = this.takeIdle();
    if (free !== undefined) return Promise.resolve(free);
    const startedAt = this.#now();
    const hardDeadline = startedAt + this.#settings.acquireTimeoutMs + this.#createTimeoutMs;
    return new Promise<PooledConnection>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: (connection) => {
          clearTimeout(timer);
          resolve(connection);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const endWait = () => {
        const now = this.#now();
        const failedLogin = this.#lastLoginFailure;
        let error: unknown;
        if (failedLogin !== undefined && failedLogin.at >= startedAt && isKeylessError(failedLogin.error)) {
          // A login gave up (its whole budget) while this query waited: the next would fare no better now.
          error = failedLogin.error;
        } else if ((this.#progress?.loginsRidingOut ?? 0) > 0 && now < hardDeadline) {
          timer = setTimeout(endWait, Math.min(ridingOutCheckMs, hardDeadline - now));
          return;
        } else {
          error = this.#timeoutError();
        }
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(error);
      };
      timer = setTimeout(endWait, this.#settings.acquireTimeoutMs);
      this.#waiters.push(waiter);
      this.#openIfNeeded();
    });
  }

  /**
   * Azure SQL said a token is expired: every connection logged in with a token that expires no
   * later than `tokenExpiresOn` would hear the same, so none is handed out again (idle ones close
   * now, ones in use when they come back).
   */
  retireTokensExpiringBy(tokenExpiresOn: number | undefined): void {
    for (const connection of [...this.#held]) {
      const expiry = connection.tokenExpiresOn;
      if (tokenExpiresOn !== undefined && (expiry === undefined || expiry > tokenExpiresOn)) continue;
      connection.retire();
      this.#evict(connection);
    }
  }

  /**
   * Closes every idle connection. Called when a session ended under a request: the server has most
   * likely dropped all of them (a reconfiguration or failover closes every session of the database),
   * and this process may not have read their end yet — a re-run taken from them would be sent into a
   * closed session too. Idle sessions that were in fact alive cost one login each, once.
   */
  retireIdle(): void {
    for (const connection of this.#idle.splice(0)) {
      connection.retire();
      this.#discard(connection);
    }
    this.#openIfNeeded();
  }

  /**
   * Returns a connection: to the query waiting longest (validated first, like every hand-out), else
   * to the idle list. A connection known to be broken (an error, its end, a retirement) is closed
   * now; any other goes back unchecked, because `takeIdle()` validates it before its next use and
   * the reaper closes idle ones that stopped being reusable within a second. Validating here as well
   * cost about 3 % of 16-way throughput against the in-process endpoint (bench/query-path-ab.ts,
   * three runs each way, 2026-12-05) for no connection that the next take would not also refuse.
   */
  release(connection: PooledConnection): void {
    if (!connection.lent) return;
    connection.lent = false;
    this.#inUseCount -= 1;
    const now = this.#now();
    const retired = connection.isRetired();
    const waiter = retired || this.#draining ? undefined : this.#waiters[0];
    if (retired || (waiter !== undefined && !connection.isReusable(now, this.#settings.maxLifetimeMs))) {
      this.#discard(connection);
      this.#openIfNeeded();
    } else if (waiter !== undefined) {
      this.#waiters.shift();
      this.#lend(connection);
      waiter.resolve(connection);
    } else {
      connection.idleSince = now;
      this.#idle.push(connection);
      this.#startReaping();
    }
    if (this.#inUseCount === 0) this.#allReturned?.();
  }

  /** Waits for logins under way and connections in use to come back, then closes every connection. */
  async drain(): Promise<void> {
    this.#draining = true;
    clearTimeout(this.#retryTimer);
    this.#stopReaping();
    await Promise.all([...this.#logins]);
    if (this.#inUseCount > 0) await new Promise<void>((resolve) => (this.#allReturned = resolve));
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error('the pool is closed'));
    const idle = this.#idle.splice(0);
    for (const connection of idle) this.#held.delete(connection);
    await Promise.all(idle.map((connection) => connection.close()));
  }

  /** Logs in a connection when a query waits and the pool has room: one login per waiting query. */
  #openIfNeeded(): void {
    if (this.#draining) return;
    const size = this.#inUseCount + this.#idle.length + this.#opening;
    if (size >= this.#settings.max || this.#opening >= this.#waiters.length) return;
    this.#opening += 1;
    const login: Promise<void> = this.#openOne().finally(() => this.#logins.delete(login));
    this.#logins.add(login);
  }

  async #openOne(): Promise<void> {
    let connection: PooledConnection;
    try {
      connection = await this.#openWithinCreateTimeout();
    } catch (error) {
      this.#opening -= 1;
      this.#lastLoginFailure = { at: this.#now(), error };
      // The login's mapped error goes to the query that has waited longest, rather than the login
      // being retried silently until the acquire times out (the factory already retried transient
      // ones); the queries after it get another login a little later.
      this.#waiters.shift()?.reject(isKeylessError(error) ? error : this.#timeoutError());
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.#openIfNeeded(), createRetryIntervalMs);
      this.#retryTimer.unref();
      return;
    }
    this.#opening -= 1;
    this.#held.add(connection);
    connection.onLost(() => this.#evict(connection));
    const waiter = this.#draining ? undefined : this.#waiters.shift();
    if (waiter !== undefined) {
      this.#lend(connection);
      waiter.resolve(connection);
    } else {
      connection.idleSince = this.#now();
      this.#idle.push(connection);
      this.#startReaping();
    }
  }

  /**
   * The factory bounds every attempt itself; this is the backstop for a login that never settles.
   * A connection that arrives after the bound is closed.
   */
  #openWithinCreateTimeout(): Promise<PooledConnection> {
    return new Promise<PooledConnection>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`the login did not finish within ${this.#createTimeoutMs} ms`));
      }, this.#createTimeoutMs);
      timer.unref();
      this.#open().then(
        (connection) => {
          clearTimeout(timer);
          if (timedOut) void connection.close();
          else resolve(connection);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #lend(connection: PooledConnection): void {
    connection.lent = true;
    this.#inUseCount += 1;
  }

  /** Closes a connection the pool holds (idle, or just released) and forgets it. */
  #discard(connection: PooledConnection): void {
    this.#held.delete(connection);
    void connection.close();
  }

  /** An idle connection that died, or was retired, leaves the pool at once. */
  #evict(connection: PooledConnection): void {
    const index = this.#idle.indexOf(connection);
    if (index === -1) return;
    this.#idle.splice(index, 1);
    this.#discard(connection);
    this.#openIfNeeded();
  }

  /**
   * Closes idle connections above `min` after idleTimeoutMs, and idle ones no longer reusable (too
   * old, token near expiry), checking once a second at most; the timer never keeps the process alive.
   */
  #startReaping(): void {
    if (this.#reaper !== undefined || this.#draining) return;
    this.#reaper = setInterval(() => this.#reap(), Math.min(1_000, this.#settings.idleTimeoutMs));
    this.#reaper.unref();
  }

  #stopReaping(): void {
    clearInterval(this.#reaper);
    this.#reaper = undefined;
  }

  #reap(): void {
    const now = this.#now();
    let closable = this.#idle.length - Math.max(0, this.#settings.min - this.#inUseCount);
    const kept: PooledConnection[] = [];
    for (const connection of this.#idle) {
      const expired = closable > 0 && now - connection.idleSince >= this.#settings.idleTimeoutMs;
      if (expired || !connection.isReusable(now, this.#settings.maxLifetimeMs)) {
        closable -= 1;
        this.#discard(connection);
      } else {
        kept.push(connection);
      }
    }
    this.#idle = kept;
    if (this.#idle.length === 0 && this.#inUseCount === 0 && this.#opening === 0) this.#stopReaping();
  }

  /** Why a query got no connection in time, from what the pool is doing now. */
  #timeoutError(): ServiceUnavailableError {
    if (this.#inUseCount === 0 && this.#opening > 0) return this.#loginTooSlow();
    return new ServiceUnavailableError(
      `No Azure SQL connection to ${this.#describeServer} became free within ${this.#settings.acquireTimeoutMs} ms (pool max ${this.#settings.max})`,
      {
        hint: 'queries hold connections longer than expected, or more run at once than the pool allows: raise pool.max or pool.acquireTimeoutMs, or shorten transactions',
      },
    );
  }

  /** No connection was busy: the wait was for a login, and "raise pool.max" would mislead. */
  #loginTooSlow(): ServiceUnavailableError {
    const waited = `No Azure SQL connection to ${this.#describeServer} within pool.acquireTimeoutMs (${this.#settings.acquireTimeoutMs} ms)`;
    if ((this.#progress?.pendingTokenRequests ?? 0) > 0) {
      return new ServiceUnavailableError(
        `${waited}: the login is waiting for a token, and the token provider has not answered`,
        { hint: tokenProviderSlowHint },
      );
    }
    return new ServiceUnavailableError(`${waited}: the login was still under way`, {
      hint: 'the server answers slowly or not at all: check that it resolves and is reachable from here (firewall rules, private endpoint); if it is only slow, raise pool.acquireTimeoutMs and connectTimeoutMs',
    });
  }
}
