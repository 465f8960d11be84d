import { randomUUID } from 'node:crypto';
import {
  AuthorizationError,
  ClosedError,
  CredentialUnavailableError,
  createTokenProvider,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import { type LocalAzure, type SqlEndpoint, startLocalAzure, startSqlEndpoint } from '@keyless/local-azure';
import { findLeaks, renderEveryWay, useManagedIdentityEnvironment } from '@keyless/testing';
import { RequestError, TYPES } from 'tedious';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqlConnector, type SqlConnector, type SqlConnectorOptions } from '../src/index.js';
import { inferSqlType } from '../src/parameter-typing.js';
import { createSqlConnectorWithInternals, type SqlConnectorInternals } from '../src/testing.js';

const sqlVariables = ['KEYLESS_SQL_SERVER', 'KEYLESS_SQL_PORT', 'KEYLESS_SQL_DATABASE'] as const;

describe('createSqlConnector', () => {
  let stack: LocalAzure;
  let sql: SqlEndpoint;
  let restoreEnvironment: () => void;
  const connectors: SqlConnector[] = [];
  const providers: TokenProvider[] = [];
  const endpoints: SqlEndpoint[] = [];

  /** Everything a test makes is closed after it, even when an assertion fails. */
  const provider = (identity: Parameters<typeof createTokenProvider>[0] = {}) => {
    const created = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId }, ...identity });
    providers.push(created);
    return created;
  };
  const connector = (options: SqlConnectorOptions = {}, internals: SqlConnectorInternals = {}) => {
    const created = createSqlConnectorWithInternals(
      {
        server: sql.host,
        port: sql.port,
        database: sql.database,
        ...options,
        tokenProvider: options.tokenProvider ?? provider(),
      },
      internals,
    );
    connectors.push(created);
    return created;
  };

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
    sql = stack.sql as SqlEndpoint;
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  });

  afterEach(async () => {
    stack.identity.setTokenLifetime(86_400);
    for (const variable of sqlVariables) delete process.env[variable];
    for (const created of connectors.splice(0)) await created.close();
    for (const created of providers.splice(0)) await created.close();
    for (const endpoint of endpoints.splice(0)) await endpoint.stop();
  });

  afterAll(async () => {
    restoreEnvironment?.();
    await stack?.stop();
  });

  // First in the file: the token cache is per process, so once a 24-hour token is cached for
  // this identity and resource, a new provider would be handed it and nothing would expire.
  describe('under load, with tokens expiring mid-run', () => {
    it('runs 50 concurrent queries per round while connections keep logging in with fresh tokens', async () => {
      stack.identity.setTokenLifetime(3);
      const tokensBefore = stack.identity.counters.byResource('https://database.windows.net');
      const loginsBefore = sql.counters.logins;
      const sqlConnector = connector({ pool: { max: 5, maxLifetimeMs: 1_000 } });
      let failures = 0;
      let largestPool = 0;
      const errors: unknown[] = [];
      const one = async () => {
        try {
          const rows = await sqlConnector.query<{ name: string }>('SELECT SUSER_SNAME() AS name');
          expect(rows).toEqual([{ name: stack.appIdentity.name }]);
        } catch (error) {
          failures += 1;
          errors.push(error);
        }
        largestPool = Math.max(largestPool, sqlConnector.poolStatus().size);
      };
      // Ten rounds a few hundred milliseconds apart: the 3-second tokens expire twice during the run.
      for (let round = 0; round < 10; round += 1) {
        await Promise.all(Array.from({ length: 50 }, one));
        largestPool = Math.max(largestPool, sqlConnector.poolStatus().size);
        await new Promise((resolve) => setTimeout(resolve, 450));
      }
      expect(errors).toEqual([]);
      expect(failures).toBe(0);
      expect(largestPool).toBeLessThanOrEqual(5);
      expect(largestPool).toBeGreaterThan(0);
      // Connections older than a second were replaced: many logins, with tokens minted during the run.
      expect(sql.counters.logins - loginsBefore).toBeGreaterThan(5);
      expect(
        stack.identity.counters.byResource('https://database.windows.net') - tokensBefore,
      ).toBeGreaterThanOrEqual(2);
      // A bound, not a speed claim: many logins on a 2-core CI machine running every package's tests.
    }, 90_000);
  });

  // Which settings are read, from where, which are required, and which TLS-weakening options are
  // refused: the configuration group in test/conformance.test.ts.
  describe('configuration', () => {
    it('takes server, port and database from the environment, and its own provider too', async () => {
      Object.assign(process.env, {
        KEYLESS_SQL_SERVER: sql.host,
        KEYLESS_SQL_PORT: String(sql.port),
        KEYLESS_SQL_DATABASE: sql.database,
        AZURE_CLIENT_ID: stack.appIdentity.clientId,
      });
      try {
        const fromEnvironment = createSqlConnector();
        connectors.push(fromEnvironment);
        expect(await fromEnvironment.query('SELECT DB_NAME() AS db')).toEqual([{ db: sql.database }]);
      } finally {
        delete process.env.AZURE_CLIENT_ID;
      }
    });
  });

  describe('TLS', () => {
    it.each([true, 'strict'] as const)('logs in with encrypt: %s', async (encrypt) => {
      const sqlConnector = connector({ encrypt });
      expect(await sqlConnector.query('SELECT DB_NAME() AS db, SUSER_SNAME() AS name')).toEqual([
        { db: sql.database, name: stack.appIdentity.name },
      ]);
    });

    it('trusts an explicit ca in addition to the default store', async () => {
      const sqlConnector = connector({ encrypt: 'strict', ca: stack.ca.caCertificate });
      expect(await sqlConnector.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    });
  });

  describe('queries', () => {
    it('never hands out a connection past maxLifetimeMs: not from the idle list, not to a waiting query', async () => {
      let now = Date.now();
      const ended: number[] = [];
      let opened = 0;
      const sqlConnector = connector(
        { pool: { max: 1, maxLifetimeMs: 60_000 } },
        {
          now: () => now,
          onConnection: (connection) => {
            const index = opened++;
            connection.on('end', () => ended.push(index));
          },
        },
      );
      await sqlConnector.query('SELECT 1');
      // Released to the idle list while young; aged there; the next query logs in anew.
      now += 60_000;
      expect(await sqlConnector.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
      expect(opened).toBe(2);
      await vi.waitFor(() => expect(ended).toEqual([0]));
      // One connection in use, one query waiting for it; the connection ages meanwhile, so on its
      // release it is closed instead of handed over, and the waiting query gets a new login.
      const inUse = sqlConnector.query('SELECT 3 AS three');
      const waiting = sqlConnector.query('SELECT 4 AS four');
      expect(sqlConnector.poolStatus().pendingAcquires).toBe(1);
      now += 60_000;
      expect(await Promise.all([inUse, waiting])).toEqual([[{ three: 3 }], [{ four: 4 }]]);
      expect(opened).toBe(3);
      await vi.waitFor(() => expect(ended).toEqual([0, 1]));
      expect(sqlConnector.poolStatus()).toMatchObject({ size: 1, pendingAcquires: 0 });
    });

    it('sends typed parameters, inferred from JavaScript values or given explicitly', async () => {
      const sqlConnector = connector();
      const [row] = await sqlConnector.query(
        'SELECT @n AS n, @big AS big, @s AS s, @b AS b, @f AS f, @none AS none, @typed AS typed',
        {
          n: 42,
          big: 2n ** 40n,
          s: 'grüße',
          b: true,
          f: 1.5,
          none: null,
          '@typed': { type: 'NVarChar', value: 'explicit' },
        },
      );
      // The endpoint echoes what it decoded: integers as INT/BIGINT, other values as text.
      expect(row).toEqual({
        n: 42,
        big: String(2 ** 40),
        s: 'grüße',
        b: 'true',
        f: '1.5',
        none: null,
        typed: 'explicit',
      });
      expect(inferSqlType(7)).toBe(TYPES.Int);
      expect(inferSqlType(2 ** 40)).toBe(TYPES.BigInt);
      expect(inferSqlType(0.25)).toBe(TYPES.Float);
      expect(inferSqlType('text')).toBe(TYPES.NVarChar);
      expect(inferSqlType(false)).toBe(TYPES.Bit);
      expect(inferSqlType(new Date())).toBe(TYPES.DateTime2);
      expect(inferSqlType(Buffer.from('bytes'))).toBe(TYPES.VarBinary);
      expect(inferSqlType(null)).toBe(TYPES.NVarChar);
    });

    it('inserts and selects rows of dbo.notes with parameters', async () => {
      const sqlConnector = connector();
      await sqlConnector.query('DELETE FROM dbo.notes');
      const [inserted] = await sqlConnector.query<{ id: number }>(
        'INSERT INTO dbo.notes (body) OUTPUT INSERTED.id VALUES (@body)',
        { body: 'first note' },
      );
      await sqlConnector.query('INSERT INTO dbo.notes (body) VALUES (@body)', { body: 'second note' });
      const id = inserted?.id as number;
      expect(await sqlConnector.query('SELECT id, body FROM dbo.notes WHERE id = @id', { id })).toEqual([
        { id, body: 'first note' },
      ]);
      expect(await sqlConnector.query('SELECT id, body FROM dbo.notes ORDER BY id')).toEqual([
        { id, body: 'first note' },
        { id: id + 1, body: 'second note' },
      ]);
    });

    it('returns rows as objects by column name, an unnamed column as column<index>, and a new array per query', async () => {
      const sqlConnector = connector({ pool: { max: 1 } });
      const first = await sqlConnector.query('SELECT 1');
      expect(first).toEqual([{ column0: 1 }]);
      const second = await sqlConnector.query('SELECT 1 AS one, 2');
      expect(second).toEqual([{ one: 1, column1: 2 }]);
      // The same connection served both: each query's rows are its own.
      expect(second).not.toBe(first);
      expect(first).toEqual([{ column0: 1 }]);
    });

    it('surfaces an unsupported statement as the server error, and reuses the connection', async () => {
      const sqlConnector = connector({ pool: { max: 1 } });
      await sqlConnector.query('SELECT 1');
      const logins = sql.counters.logins;
      const error = await sqlConnector
        .query('SELECT name FROM sys.tables')
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RequestError);
      expect(error).toMatchObject({ number: 40515 });
      expect(await sqlConnector.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
      expect(sql.counters.logins).toBe(logins);
      expect(sqlConnector.poolStatus().size).toBe(1);
    });

    it('commits a transaction, and rolls one back when its work throws', async () => {
      const sqlConnector = connector();
      await sqlConnector.query('DELETE FROM dbo.notes');
      const committed = await sqlConnector.transaction(async (transaction) => {
        await Promise.all([
          transaction.query('INSERT INTO dbo.notes (body) VALUES (@body)', { body: 'kept' }),
          transaction.query('INSERT INTO dbo.notes (body) VALUES (@body)', { body: 'kept too' }),
        ]);
        return transaction.query<{ trancount: number }>('SELECT @@TRANCOUNT AS trancount');
      });
      expect(committed).toEqual([{ trancount: 1 }]);
      const failure = new Error('the work failed');
      await expect(
        sqlConnector.transaction(async (transaction) => {
          await transaction.query('INSERT INTO dbo.notes (body) VALUES (@body)', { body: 'rolled back' });
          throw failure;
        }),
      ).rejects.toBe(failure);
      const bodies = (await sqlConnector.query<{ body: string }>('SELECT id, body FROM dbo.notes')).map(
        (row) => row.body,
      );
      expect(bodies).toEqual(['kept', 'kept too']);
      expect(await sqlConnector.query('SELECT @@TRANCOUNT AS trancount')).toEqual([{ trancount: 0 }]);
    });

    it('fails a query with `unavailable` when no connection frees up within acquireTimeoutMs', async () => {
      // An identity of its own: the token cache is per process, and the 3-second token the load test
      // cached for the app identity could make this pool retire its only connection (token near
      // expiry) and log in again — a login under way, not the busy connection this test is about.
      const identity = {
        name: `acquire-timeout-${randomUUID()}`,
        clientId: randomUUID(),
        objectId: randomUUID(),
      };
      stack.identity.addUserAssignedIdentity(identity);
      sql.addPrincipal({ name: identity.name, objectId: identity.objectId });
      const sqlConnector = connector({
        pool: { max: 1, acquireTimeoutMs: 200 },
        tokenProvider: provider({ identity: { clientId: identity.clientId } }),
      });
      // Logged in first: the point is a pool whose only connection is busy, not a login still under way.
      await sqlConnector.connect();
      const holding = sqlConnector.query("WAITFOR DELAY '00:00:01'");
      const error = await sqlConnector.query('SELECT 1').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect((error as ServiceUnavailableError).hint).toMatch(/pool\.max/);
      await holding;
    });

    it('close waits for queries already admitted, even ones still waiting for a connection, then refuses new ones with ClosedError', async () => {
      const sqlConnector = connector({ pool: { max: 1 } });
      const running = sqlConnector.query("WAITFOR DELAY '00:00:00.200'");
      // With max 1, this one waits for the first to release its connection.
      const queued = sqlConnector.query('SELECT 1 AS one');
      await Promise.all([sqlConnector.close(), sqlConnector.close()]);
      await expect(running).resolves.toEqual([]);
      await expect(queued).resolves.toEqual([{ one: 1 }]);
      await expect(sqlConnector.query('SELECT 1')).rejects.toMatchObject({ code: 'closed' });
      await expect(sqlConnector.transaction(async () => 1)).rejects.toBeInstanceOf(ClosedError);
      await expect(sqlConnector.connect()).rejects.toBeInstanceOf(ClosedError);
      expect(sqlConnector.poolStatus().size).toBe(0);
      await vi.waitFor(() => expect(sql.counters.openConnections).toBe(0));
    });
  });

  describe('connect()', () => {
    it('logs in one connection, which the first query reuses', async () => {
      const app = provider();
      let tokenRequests = 0;
      const counting = {
        getToken: (...parameters: Parameters<TokenProvider['getToken']>) => {
          tokenRequests += 1;
          return app.getToken(...parameters);
        },
      } as unknown as TokenProvider;
      const loginsBefore = sql.counters.logins;
      const sqlConnector = connector({ tokenProvider: counting });
      const statusBefore = sqlConnector.poolStatus();
      await sqlConnector.connect();
      expect(tokenRequests).toBe(1);
      expect(sql.counters.logins).toBe(loginsBefore + 1);
      expect(sqlConnector.poolStatus()).toEqual({ size: 1, idle: 1, pendingAcquires: 0 });
      // A snapshot, not a live view of the pool.
      expect(statusBefore).toEqual({ size: 0, idle: 0, pendingAcquires: 0 });
      expect(Object.isFrozen(statusBefore)).toBe(true);

      expect(await sqlConnector.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(sql.counters.logins).toBe(loginsBefore + 1);
    });

    it('fails at start-up with the refused login (18456: no database user for the identity), and keeps no connection', async () => {
      const systemAssigned = provider({ identity: 'system-assigned' });
      const sqlConnector = connector({ tokenProvider: systemAssigned });
      const error = await sqlConnector.connect().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AuthorizationError);
      expect(error).toMatchObject({ code: 'authorization', status: 18456 });
      // The server's own text, taken from the ERROR token tedious saw during the login.
      expect((error as Error).message).toContain('Login failed for user');
      expect((error as AuthorizationError).hint).toContain(
        'CREATE USER [<identity name>] FROM EXTERNAL PROVIDER',
      );
      expect(sqlConnector.poolStatus().size).toBe(0);
    });

    it("passes the token provider's own errors through unchanged (tedious wraps them in an AggregateError)", async () => {
      const unavailable = new CredentialUnavailableError('no managed identity here');
      const failing = { getToken: () => Promise.reject(unavailable) } as unknown as TokenProvider;
      const sqlConnector = connector({ tokenProvider: failing });
      await expect(sqlConnector.connect()).rejects.toBe(unavailable);
      await expect(sqlConnector.query('SELECT 1')).rejects.toBe(unavailable);
    });
  });

  describe('server restart', () => {
    it('fails queries with a typed error while the server is down, recovers, and leaks no connection', async () => {
      const endpointOptions = {
        tokenVerifier: stack.identity,
        tenantId: stack.identity.tenantId,
        tls: { cert: stack.ca.serverCertificate, key: stack.ca.serverKey },
        principals: [{ name: stack.appIdentity.name, objectId: stack.appIdentity.objectId }],
      };
      let endpoint = await startSqlEndpoint(endpointOptions);
      endpoints.push(endpoint);
      const port = endpoint.port;
      const sqlConnector = connector({
        server: endpoint.host,
        port,
        pool: { max: 4 },
        connectTimeoutMs: 2_000,
      });
      const outcomes = { succeeded: 0, unavailable: 0, other: [] as unknown[] };
      let running = true;
      const worker = async () => {
        while (running) {
          try {
            await sqlConnector.query('SELECT SUSER_SNAME() AS name');
            outcomes.succeeded += 1;
          } catch (error) {
            if (error instanceof ServiceUnavailableError) outcomes.unavailable += 1;
            else outcomes.other.push(error);
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      // The first logins (a token, TLS, the login) may take more than vitest's default 1 s on a busy machine.
      await vi.waitFor(() => expect(outcomes.succeeded).toBeGreaterThan(20), { timeout: 15_000 });

      await endpoint.stop();
      await vi.waitFor(() => expect(outcomes.unavailable).toBeGreaterThan(3), { timeout: 10_000 });

      endpoint = await startSqlEndpoint({ ...endpointOptions, port });
      endpoints.push(endpoint);
      const succeededBeforeRecovery = outcomes.succeeded;
      await vi.waitFor(() => expect(outcomes.succeeded - succeededBeforeRecovery).toBeGreaterThan(20), {
        timeout: 10_000,
      });
      running = false;
      await Promise.all(workers);

      expect(outcomes.other).toEqual([]);
      expect(sqlConnector.poolStatus().size).toBeLessThanOrEqual(4);
      // Dead connections left the pool; what it holds is exactly what the server has open.
      const restarted = endpoint;
      await vi.waitFor(() => expect(restarted.counters.openConnections).toBe(sqlConnector.poolStatus().size));
      await sqlConnector.close();
      await vi.waitFor(() => expect(restarted.counters.openConnections).toBe(0));
    });
  });

  describe('secrets', () => {
    it('never prints a token: not in errors, inspect/JSON of the connector, nor tedious debug events', async () => {
      const debugMessages: string[] = [];
      const onConnection = (connection: {
        on(event: 'debug', listener: (text: string) => void): unknown;
      }) => {
        connection.on('debug', (text) => debugMessages.push(text));
      };
      const sqlConnector = connector({}, { onConnection });
      const rows = await sqlConnector.query('SELECT SUSER_SNAME() AS name');
      const refused = await connector(
        { tokenProvider: provider({ identity: 'system-assigned' }) },
        { onConnection },
      )
        .query('SELECT 1')
        .catch((caught: unknown) => caught);
      const app = provider();
      const wrongAudience = await connector(
        {
          tokenProvider: {
            getToken: async () => {
              const token = await app.getToken('https://storage.azure.com/.default');
              return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp };
            },
          } as unknown as TokenProvider,
        },
        { onConnection },
      )
        .query('SELECT 1')
        .catch((caught: unknown) => caught);
      expect(debugMessages.length).toBeGreaterThan(0);
      const printed = [
        ...debugMessages,
        ...[sqlConnector, sqlConnector.poolStatus(), rows, refused, wrongAudience].flatMap(renderEveryWay),
      ].join('\n');
      // The views say where, how and as whom (never with a token).
      expect(JSON.parse(JSON.stringify(sqlConnector))).toMatchObject({
        server: `${sql.host}:${sql.port}/${sql.database}`,
        encrypt: true,
        backend: 'azure-identity',
        poolStatus: { size: 1, idle: 1, pendingAcquires: 0 },
        closed: false,
      });
      expect(printed).toContain(`server: '${sql.host}:${sql.port}/${sql.database}'`);
      // A count, not the list: a failing assertion must not print a token.
      expect(findLeaks(printed, stack.identity.issuedTokens()).length).toBe(0);
      expect(stack.identity.issuedTokens().length).toBeGreaterThan(0);
    });
  });
});
