import { createTokenProvider, ServiceUnavailableError, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type SqlEndpoint, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlConnector } from '../src/index.js';
import { createSqlConnectorWithInternals } from '../src/testing.js';

/**
 * A pooled session can outlive its login token: Azure SQL may re-validate the token mid-session and
 * answer 18456 "Token is expired." or 37396, after which the session is unusable; a session cannot
 * take a new token, a new login can (https://github.com/dotnet/SqlClient/issues/2792). Real tedious
 * against the local endpoint, which re-checks the token on every statement when told to.
 */

const tokenLifetimeSeconds = 4;
let stack: LocalAzure;
let sql: SqlEndpoint;
let restoreEnvironment: () => void;
const providers: TokenProvider[] = [];
const connectors: SqlConnector[] = [];
/** 18456 and other server errors each connection saw, by connector. */
const serverErrors = new Map<SqlConnector, number[]>();

/**
 * Tokens whose expiry is reported an hour late: the server finds them expired while the client
 * still counts on them — a server clock ahead of ours, or a token revoked early. The pool then
 * hands out the connection, and only the server's answer can retire it.
 */
const lateExpiry = (provider: TokenProvider): TokenProvider =>
  ({
    getToken: async (...parameters: Parameters<TokenProvider['getToken']>) => {
      const token = await provider.getToken(...parameters);
      // keyless tokens keep `token` out of spreads and prints: copy it by name.
      return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp + 3_600_000 };
    },
  }) as unknown as TokenProvider;

function connector(options: { lateExpiry?: boolean } = {}): SqlConnector {
  const provider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  providers.push(provider);
  const seen: number[] = [];
  const created = createSqlConnectorWithInternals(
    {
      server: sql.host,
      port: sql.port,
      database: sql.database,
      pool: { max: 1 },
      tokenProvider: options.lateExpiry ? lateExpiry(provider) : provider,
    },
    { onConnection: (connection) => connection.on('errorMessage', (error) => seen.push(error.number)) },
  );
  serverErrors.set(created, seen);
  connectors.push(created);
  return created;
}

let reused: SqlConnector;
let refusedWith18456: SqlConnector;
let refusedWith37396: SqlConnector;
let beginRefused: SqlConnector;
let refusedInTransaction: SqlConnector;

beforeAll(async () => {
  stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
  sql = stack.sql as SqlEndpoint;
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  // Before any token is cached in this process: every SQL token lives 4 s.
  stack.identity.setTokenLifetime(tokenLifetimeSeconds);
  reused = connector();
  refusedWith18456 = connector({ lateExpiry: true });
  refusedWith37396 = connector({ lateExpiry: true });
  beginRefused = connector({ lateExpiry: true });
  refusedInTransaction = connector({ lateExpiry: true });
  const all = [reused, refusedWith18456, refusedWith37396, beginRefused, refusedInTransaction];
  await Promise.all(all.map((each) => each.connect()));
  // One wait for all: every pooled session's login token is now expired at the server.
  await new Promise((resolve) => setTimeout(resolve, tokenLifetimeSeconds * 1_000 + 500));
});

afterAll(async () => {
  sql?.faults.clear();
  for (const created of connectors.splice(0)) await created.close();
  for (const created of providers.splice(0)) await created.close();
  restoreEnvironment?.();
  await stack?.stop();
});

describe('a pooled connection and its login token', () => {
  it('is not handed out past the token expiry (minus the margin): a fresh login runs the query instead', async () => {
    sql.faults.recheckTokenOnEveryStatement(true);
    const logins = sql.counters.logins;
    expect(await reused.query('SELECT SUSER_SNAME() AS name')).toEqual([{ name: stack.appIdentity.name }]);
    expect(sql.counters.logins).toBe(logins + 1);
    // The stale session was never used: the server refused nothing.
    expect(serverErrors.get(reused)).toEqual([]);
  });

  it.each([
    [18456, () => refusedWith18456],
    [37396, () => refusedWith37396],
  ] as const)(
    'when Azure SQL answers %i, the connection is retired and the statement runs once more on a fresh login',
    async (errorNumber, which) => {
      const sqlConnector = which();
      sql.faults.recheckTokenOnEveryStatement(true, { errorNumber });
      const logins = sql.counters.logins;
      expect(await sqlConnector.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(serverErrors.get(sqlConnector)).toEqual([errorNumber]);
      expect(sql.counters.logins).toBe(logins + 1);
      // The fresh connection is the pool's only one, and it keeps working.
      expect(await sqlConnector.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
      expect(sqlConnector.poolStatus().size).toBe(1);
    },
  );

  it('runs a BEGIN refused that way once more, then the transaction on the fresh login', async () => {
    sql.faults.recheckTokenOnEveryStatement(true);
    const result = await beginRefused.transaction((transaction) =>
      transaction.query<{ trancount: number }>('SELECT @@TRANCOUNT AS trancount'),
    );
    expect(result).toEqual([{ trancount: 1 }]);
    expect(serverErrors.get(beginRefused)).toEqual([18456]);
  });

  it('does not run a statement refused inside a transaction again: the transaction fails with `unavailable`', async () => {
    sql.faults.recheckTokenOnEveryStatement(false);
    const logins = sql.counters.logins;
    const error = await refusedInTransaction
      .transaction(async (transaction) => {
        // BEGIN ran on the stale session; the re-check starts with the transaction's work.
        sql.faults.recheckTokenOnEveryStatement(true);
        return transaction.query('SELECT 1');
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toContain("the session's login token has expired (error 18456)");
    expect((error as ServiceUnavailableError).hint).toContain('transaction');
    expect(sql.counters.logins).toBe(logins);
    // The session is gone from the pool; the next query logs in afresh.
    expect(await refusedInTransaction.query('SELECT 3 AS three')).toEqual([{ three: 3 }]);
    expect(sql.counters.logins).toBe(logins + 1);
  });
});
