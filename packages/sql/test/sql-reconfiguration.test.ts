import net from 'node:net';
import { createTokenProvider, ServiceUnavailableError, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type SqlEndpoint, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqlConnector, type SqlConnector, type SqlConnectorOptions } from '../src/index.js';

/**
 * Azure SQL reconfigurations (patching, scaling, failover, serverless resume) refuse logins with
 * transient errors for up to about 60 s; Microsoft's guidance is to wait ~5 s before the first retry
 * and keep trying:
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues#list-of-transient-fault-error-codes
 * Real tedious logins against the local endpoint's reconfiguration fault.
 */

let stack: LocalAzure;
let sql: SqlEndpoint;
let restoreEnvironment: () => void;
const connectors: SqlConnector[] = [];
const providers: TokenProvider[] = [];

const connector = (options: SqlConnectorOptions = {}) => {
  const tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  providers.push(tokenProvider);
  const created = createSqlConnector({
    server: sql.host,
    port: sql.port,
    database: sql.database,
    tokenProvider,
    ...options,
  });
  connectors.push(created);
  return created;
};

/** Short waits, so that these tests take seconds: the defaults are checked by the load test. */
const quickRetry = { firstDelayMs: 200, budgetMs: 10_000 };

beforeAll(async () => {
  stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
  sql = stack.sql as SqlEndpoint;
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
});

afterEach(async () => {
  sql.faults.clear();
  for (const created of connectors.splice(0)) await created.close();
  for (const created of providers.splice(0)) await created.close();
});

afterAll(async () => {
  restoreEnvironment?.();
  await stack?.stop();
});

describe('a new login during a reconfiguration', () => {
  // 4060 was an AuthorizationError ("create the user"), 926 and 615 were not retried at all.
  it.each([4060, 926, 615, 40613] as const)(
    'is retried while the server answers %i, and logs in when the reconfiguration ends',
    async (errorNumber) => {
      const sqlConnector = connector({ loginRetry: quickRetry });
      // Warm first (token, TLS): on a busy machine a cold first login could outlast the fault.
      await sqlConnector.connect();
      const failedBefore = sql.counters.failedLogins;
      // 'kill' closes the warm session, so the query below needs a new login.
      sql.faults.reconfigure({ durationMs: 1_500, errorNumber, existingSessions: 'kill' });
      expect(await sqlConnector.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(sql.faults.reconfiguring).toBe(false);
      expect(sql.counters.failedLogins - failedBefore).toBeGreaterThanOrEqual(2);
      expect(await sqlConnector.query('SELECT DB_NAME() AS db')).toEqual([{ db: sql.database }]);
    },
  );

  it('keeps a query waiting past pool.acquireTimeoutMs while its login rides out the reconfiguration', async () => {
    const sqlConnector = connector({ loginRetry: quickRetry, pool: { acquireTimeoutMs: 1_000 } });
    // Warm first (token, TLS): a cold first login on a loaded CI machine took over 300 ms before
    // the server's first refusal, and a login still under way at acquireTimeoutMs is "too slow" —
    // not the case under test. 'kill' closes the warm session, so the query needs a new login.
    await sqlConnector.connect();
    const failedBefore = sql.counters.failedLogins;
    sql.faults.reconfigure({ durationMs: 3_000, existingSessions: 'kill' });
    expect(await sqlConnector.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    // The query waited through refused logins, well past acquireTimeoutMs.
    expect(sql.counters.failedLogins - failedBefore).toBeGreaterThanOrEqual(2);
  });

  it('gives up after loginRetry.budgetMs with `unavailable`, saying how long it tried and what to check', async () => {
    const sqlConnector = connector({ loginRetry: { firstDelayMs: 200, budgetMs: 1_000 } });
    sql.faults.reconfigure({ durationMs: 60_000, errorNumber: 4060 });
    const [first, second] = await Promise.all(
      [sqlConnector.query('SELECT 1'), sqlConnector.query('SELECT 2')].map((query) =>
        query.catch((caught: unknown) => caught),
      ),
    );
    for (const error of [first, second]) {
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ code: 'unavailable', status: 4060 });
      expect((error as Error).message).toMatch(/temporarily unavailable after \d+ login attempts over \d+ s/);
      expect((error as ServiceUnavailableError).hint).toContain('loginRetry.budgetMs (1000 ms)');
      expect((error as ServiceUnavailableError).hint).toContain('KEYLESS_SQL_DATABASE');
    }
    expect(sqlConnector.poolStatus().size).toBe(0);
  });
});

/**
 * A TCP relay to the SQL endpoint whose `dropSessions()` makes every connection open at that moment
 * end as soon as the client sends anything, without a byte of answer — a session the server dropped
 * whose end this process has not read yet (a reconfiguration closes every session of the database;
 * under load the FINs are read late). Connections opened afterwards are relayed normally.
 */
async function startSessionDroppingRelay(target: { host: string; port: number }) {
  const live = new Set<{ client: net.Socket; upstream: net.Socket; dropped: boolean }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream, dropped: false };
    live.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (pair.dropped) {
        client.end();
        upstream.destroy();
      } else upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    dropSessions: () => {
      for (const pair of live) pair.dropped = true;
    },
    stop: async () => {
      for (const pair of live) pair.client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('sessions the server dropped, their end not yet read', () => {
  it('runs the query once more on a fresh login, not on another dropped session', async () => {
    const relay = await startSessionDroppingRelay({ host: sql.host, port: sql.port });
    try {
      const sqlConnector = connector({ port: relay.port, pool: { min: 3, max: 3 } });
      await sqlConnector.connect();
      // Three idle sessions, all about to be found dropped.
      await Promise.all([1, 2, 3].map((one) => sqlConnector.query(`SELECT ${one} AS one`)));
      await vi.waitFor(() => expect(sqlConnector.poolStatus().idle).toBe(3), { timeout: 20_000 });
      const loginsBefore = sql.counters.logins;
      relay.dropSessions();
      // The first idle session takes the query and ends unanswered; the re-run must not go to the
      // next dropped one (it would end the same way, and the query would fail).
      expect(await sqlConnector.query('SELECT SUSER_SNAME() AS name')).toEqual([
        { name: stack.appIdentity.name },
      ]);
      expect(sql.counters.logins - loginsBefore).toBeGreaterThan(0);
    } finally {
      await relay.stop();
    }
  });
});

describe('under load through a 30 s reconfiguration', () => {
  it('fails no query: sessions are closed, logins refused with 40613, and every query waits for a fresh login', async () => {
    const sqlConnector = connector({ pool: { max: 5 } });
    const outcomes = { succeeded: 0, failed: [] as unknown[] };
    let running = true;
    const loop = async () => {
      while (running) {
        try {
          const rows = await sqlConnector.query<{ name: string }>('SELECT SUSER_SNAME() AS name');
          expect(rows).toEqual([{ name: stack.appIdentity.name }]);
          outcomes.succeeded += 1;
        } catch (error) {
          outcomes.failed.push(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    // The pool's five logins come first; on a loaded CI machine they alone can take over a second.
    await vi.waitFor(() => expect(outcomes.succeeded).toBeGreaterThan(50), {
      timeout: 15_000,
      interval: 100,
    });
    const failedLoginsBefore = sql.counters.failedLogins;
    const loginsBefore = sql.counters.logins;

    sql.faults.reconfigure({ durationMs: 30_000 });
    await vi.waitFor(() => expect(sql.faults.reconfiguring).toBe(false), { timeout: 32_000, interval: 500 });
    const succeededAtTheEnd = outcomes.succeeded;
    await vi.waitFor(() => expect(outcomes.succeeded - succeededAtTheEnd).toBeGreaterThan(50), {
      timeout: 20_000,
    });
    running = false;
    await Promise.all(loops);

    expect(outcomes.failed).toEqual([]);
    // The sessions were really closed and new logins really refused: the pool logged in again.
    expect(sql.counters.failedLogins - failedLoginsBefore).toBeGreaterThan(0);
    expect(sql.counters.logins - loginsBefore).toBeGreaterThan(0);
    expect(sqlConnector.poolStatus().size).toBeLessThanOrEqual(5);
  }, 60_000);
});
