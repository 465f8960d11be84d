import { EventEmitter } from 'node:events';
import { ServiceUnavailableError } from '@keyless/core';
import type { Connection } from 'tedious';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LoginProgress, newLoginProgress } from '../src/connection-factory.js';
import { ConnectionPool } from '../src/connection-pool.js';
import { LoginRetrySchedule, maxNetworkAttempts, reconfigurationDelay } from '../src/login-retry-schedule.js';
import { PooledConnection } from '../src/pooled-connection.js';
import { resolveSqlOptions } from '../src/sql-options.js';
import { tokenReuseDeadline, tokenReuseMarginMs } from '../src/token-reuse-deadline.js';

/**
 * The timing decisions of @keyless/sql without a server: when a login tries again after a transient
 * failure and when it gives up, that a query waits for a login riding out a reconfiguration, and
 * until when a pooled connection may be handed out given its login token. The tests against the
 * local SQL endpoint (sql-azure-faults.test.ts) prove the same through real logins.
 */

const microsoftDefaults = { firstDelayMs: 5_000, budgetMs: 60_000 };

describe('the login retry schedule', () => {
  it('waits 5 s before the first retry after a transient server error, then longer, up to 15 s', () => {
    const shortest = new LoginRetrySchedule(microsoftDefaults, 0, () => 0);
    expect([1, 2, 3, 4].map(() => shortest.nextDelay('server', 0))).toEqual([5_000, 10_000, 15_000, 15_000]);
    // Jitter only lengthens: never sooner than Microsoft's 5 s, at most a fifth longer.
    const longest = new LoginRetrySchedule(microsoftDefaults, 0, () => 0.999_999);
    expect(longest.nextDelay('server', 0)).toBe(6_000);
    for (let retry = 1; retry < 10; retry += 1) {
      const delay = reconfigurationDelay(retry, microsoftDefaults);
      expect(delay).toBeGreaterThanOrEqual(5_000);
      expect(delay).toBeLessThanOrEqual(18_000);
    }
  });

  it('keeps retrying a transient server error until the budget is spent, the last wait ending at it', () => {
    const schedule = new LoginRetrySchedule(microsoftDefaults, 1_000, () => 0);
    let now = 1_000;
    const attempts = [now];
    for (;;) {
      const delay = schedule.nextDelay('server', now);
      if (delay === undefined) break;
      now += delay;
      attempts.push(now);
    }
    // 0, 5, 15, 30, 45, 60 s after the first attempt: a 30 s reconfiguration is ridden through.
    expect(attempts.map((at) => at - 1_000)).toEqual([0, 5_000, 15_000, 30_000, 45_000, 60_000]);
    expect(schedule.serverRetries).toBe(5);
    expect(schedule.deadline).toBe(61_000);
  });

  it("defaults to Microsoft's figures: 5 s before the first retry, 60 s in all; both options", () => {
    const server = { server: 'myserver.database.windows.net', database: 'orders' };
    expect(resolveSqlOptions(server, {}).loginRetry).toEqual(microsoftDefaults);
    expect(resolveSqlOptions({ ...server, loginRetry: { budgetMs: 90_000 } }, {}).loginRetry).toEqual({
      firstDelayMs: 5_000,
      budgetMs: 90_000,
    });
    expect(() => resolveSqlOptions({ ...server, loginRetry: { firstDelayMs: -1 } }, {})).toThrow(
      /loginRetry\.firstDelayMs/,
    );
  });

  it('refuses pool and loginRetry values it cannot use, naming each, and keys it does not read', () => {
    const server = { server: 'myserver.database.windows.net', database: 'orders' };
    const refusal = (options: object) => {
      try {
        resolveSqlOptions({ ...server, ...options }, {});
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal({ pool: { max: 0 } })).toContain('pool.max must be at least 1');
    expect(refusal({ pool: { min: 1.5 } })).toContain('pool.min must be a whole number');
    expect(refusal({ pool: { idleTimeoutMs: '30s' } })).toContain(
      'expected pool.idleTimeoutMs in milliseconds',
    );
    expect(refusal({ pool: { maxSize: 4 } })).toContain('unknown key `maxSize`');
    expect(refusal({ pool: 4 })).toContain('expected an object such as { max: 10 }');
    expect(refusal({ loginRetry: { budgetMs: 0 } })).toContain('loginRetry.budgetMs must be positive');
    expect(refusal({ loginRetry: { retries: 3 } })).toContain('unknown key `retries`');
    expect(refusal({ pool: { max: 4, idleTimeoutMs: undefined }, loginRetry: { budgetMs: 90_000 } })).toBe(
      'accepted',
    );
  });

  it('takes a shorter first delay and budget from the options', () => {
    const schedule = new LoginRetrySchedule({ firstDelayMs: 100, budgetMs: 250 }, 0, () => 0);
    expect(schedule.nextDelay('server', 0)).toBe(100);
    expect(schedule.nextDelay('server', 100)).toBe(150);
    expect(schedule.nextDelay('server', 250)).toBeUndefined();
  });

  it('retries a socket that failed a few times quickly, within the same budget', () => {
    const schedule = new LoginRetrySchedule(microsoftDefaults, 0, () => 0);
    const delays = Array.from({ length: maxNetworkAttempts }, () => schedule.nextDelay('network', 0));
    expect(delays).toEqual([125, 250, 500, undefined]);
    const late = new LoginRetrySchedule(microsoftDefaults, 0, () => 0);
    expect(late.nextDelay('network', 60_000)).toBeUndefined();
  });
});

describe('the login token of a pooled connection', () => {
  it("is not reused within 5 minutes of its expiry, or a quarter of a short-lived token's remaining life", () => {
    expect(tokenReuseMarginMs).toBe(5 * 60_000);
    expect(tokenReuseDeadline(0, 3_600_000)).toBe(3_300_000);
    // Handed over with 4 minutes left (the cache refreshing it): usable for 3 of them.
    expect(tokenReuseDeadline(0, 240_000)).toBe(180_000);
    expect(tokenReuseDeadline(1_000, 5_000)).toBe(4_000);
    // A custom credential that does not say: only pool.maxLifetimeMs applies.
    expect(tokenReuseDeadline(0, undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

/** Enough of a tedious Connection for the pool: it is open until closed. */
function fakeConnection(): Connection {
  const connection = Object.assign(new EventEmitter(), {
    closed: false,
    close() {
      connection.closed = true;
      connection.emit('end');
    },
  });
  return connection as unknown as Connection;
}

const describeServer = 'myserver.database.windows.net:1433/orders';

describe('the pool', () => {
  const pools: ConnectionPool[] = [];
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.drain();
  });

  const pool = (options: {
    open: () => Promise<PooledConnection>;
    progress?: LoginProgress;
    now?: () => number;
    acquireTimeoutMs?: number;
    max?: number;
  }) => {
    const created = new ConnectionPool({
      settings: {
        min: 0,
        max: options.max ?? 1,
        acquireTimeoutMs: options.acquireTimeoutMs ?? 50,
        idleTimeoutMs: 60_000,
        maxLifetimeMs: 3_600_000,
      },
      describeServer,
      createTimeoutMs: 5_000,
      progress: options.progress ?? newLoginProgress(),
      now: options.now,
      open: options.open,
    });
    pools.push(created);
    return created;
  };

  const loggedIn = (at: number, tokenExpiresOn: number | undefined) => {
    const connection = new PooledConnection(fakeConnection(), describeServer, at);
    connection.loggedIn(at, tokenExpiresOn);
    return connection;
  };

  it('lets a query wait past acquireTimeoutMs for a login riding out a transient error', async () => {
    const progress = newLoginProgress();
    const later = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
    const connectionPool = pool({
      progress,
      acquireTimeoutMs: 50,
      open: async () => {
        // What openConnection does after a 40613: counted as riding out until the login ends.
        progress.loginsRidingOut += 1;
        await later(300);
        progress.loginsRidingOut -= 1;
        return loggedIn(Date.now(), undefined);
      },
    });
    const connection = await connectionPool.acquire();
    expect(connection).toBeInstanceOf(PooledConnection);
    connectionPool.release(connection);
  });

  it('fails every waiting query with the login error once a login gives up, not with a timeout', async () => {
    const progress = newLoginProgress();
    const gaveUp = new ServiceUnavailableError('Azure SQL at … is temporarily unavailable (error 40613)');
    let logins = 0;
    const connectionPool = pool({
      progress,
      acquireTimeoutMs: 50,
      open: async () => {
        logins += 1;
        if (logins > 1) return new Promise<PooledConnection>(() => undefined);
        progress.loginsRidingOut += 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
        progress.loginsRidingOut -= 1;
        throw gaveUp;
      },
    });
    const outcomes = await Promise.allSettled([connectionPool.acquire(), connectionPool.acquire()]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    for (const outcome of outcomes) {
      expect(outcome.status === 'rejected' && outcome.reason === gaveUp).toBe(true);
    }
  });

  it('never hands out a connection past its login token (minus the margin): a new login replaces it', async () => {
    let now = 0;
    let logins = 0;
    const connectionPool = pool({
      now: () => now,
      open: async () => {
        logins += 1;
        // A token for one minute: reused for 45 s.
        return loggedIn(now, now + 60_000);
      },
    });
    const first = await connectionPool.acquire();
    connectionPool.release(first);
    now = 44_000;
    const reused = await connectionPool.acquire();
    expect(reused === first).toBe(true);
    connectionPool.release(reused);
    expect(connectionPool.status().idle).toBe(1);
    now = 46_000;
    const replaced = await connectionPool.acquire();
    expect(replaced === first).toBe(false);
    expect(logins).toBe(2);
    expect(first.connection.closed).toBe(true);
    connectionPool.release(replaced);
  });

  it('hands out a free connection on the warm path synchronously, arming no timer and no immediate', async () => {
    const connectionPool = pool({ max: 2, open: async () => loggedIn(Date.now(), undefined) });
    const first = await connectionPool.acquire();
    connectionPool.release(first);
    // What a query costs the pool when a connection is free (issue 11): the raw hand-made pool the
    // bench compares with arms nothing, and tarn armed two timers per acquire.
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    try {
      const taken = connectionPool.takeIdle();
      expect(taken === first).toBe(true);
      if (taken !== undefined) connectionPool.release(taken);
      const acquired = await connectionPool.acquire();
      expect(acquired === first).toBe(true);
      connectionPool.release(acquired);
      expect(timers).not.toHaveBeenCalled();
      expect(immediates).not.toHaveBeenCalled();
    } finally {
      timers.mockRestore();
      immediates.mockRestore();
    }
    expect(connectionPool.status()).toEqual({ size: 1, idle: 1, pendingAcquires: 0 });
  });

  it("does not hand out a connection whose socket has read the server's close, before tedious has noticed it", async () => {
    let logins = 0;
    const connectionPool = pool({
      open: async () => {
        logins += 1;
        return loggedIn(Date.now(), undefined);
      },
    });
    const first = await connectionPool.acquire();
    connectionPool.release(first);
    // The end of the stream was read behind the last answer: Node sets this before emitting 'end'
    // (a tick later), and tedious closes the connection only after that.
    Object.assign(first.connection, { socket: { destroyed: false, _readableState: { ended: true } } });
    const next = await connectionPool.acquire();
    expect(next === first).toBe(false);
    expect(logins).toBe(2);
    expect(first.connection.closed).toBe(true);
    connectionPool.release(next);
  });

  it('passes a connection that comes back straight to the query waiting longest', async () => {
    const connectionPool = pool({
      max: 1,
      acquireTimeoutMs: 5_000,
      open: async () => loggedIn(Date.now(), undefined),
    });
    const held = await connectionPool.acquire();
    const order: string[] = [];
    const first = connectionPool.acquire().then((connection) => {
      order.push('first');
      connectionPool.release(connection);
    });
    const second = connectionPool.acquire().then((connection) => {
      order.push('second');
      connectionPool.release(connection);
    });
    expect(connectionPool.status()).toEqual({ size: 1, idle: 0, pendingAcquires: 2 });
    connectionPool.release(held);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(connectionPool.status()).toEqual({ size: 1, idle: 1, pendingAcquires: 0 });
  });

  it('retires, when the server says a token expired, every connection logged in with that token or an older one', async () => {
    const expiries = [10_000, 20_000, 30_000];
    const connectionPool = pool({
      max: 3,
      now: () => 0,
      open: async () => loggedIn(0, expiries.shift()),
    });
    // Concurrent logins may finish in any order.
    const [older, same, newer] = (
      await Promise.all([connectionPool.acquire(), connectionPool.acquire(), connectionPool.acquire()])
    ).sort((left, right) => (left.tokenExpiresOn ?? 0) - (right.tokenExpiresOn ?? 0));
    if (older === undefined || same === undefined || newer === undefined) throw new Error('no connection');
    connectionPool.release(older);
    connectionPool.retireTokensExpiringBy(same.tokenExpiresOn);
    connectionPool.release(same);
    connectionPool.release(newer);
    // The idle one closed at once, the one in use when it came back; the newer one stays.
    expect(older.connection.closed).toBe(true);
    expect(same.connection.closed).toBe(true);
    expect(newer.connection.closed).toBe(false);
    expect(connectionPool.status()).toEqual({ size: 1, idle: 1, pendingAcquires: 0 });
  });
});
