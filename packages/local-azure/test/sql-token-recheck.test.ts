import type { Connection } from 'tedious';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticationFor,
  close,
  connect,
  type EncryptMode,
  query,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

// A pooled session can outlive its login token: Azure SQL may re-validate the token mid-session
// and answer "Login failed for user '<token-identified principal>'. Token is expired." (observed as
// Msg 18456, Level 14, State 233, Line 1) or 37396, after which the session is unusable
// (https://github.com/dotnet/SqlClient/issues/3245, https://github.com/dotnet/SqlClient/issues/2792).

const day = 86_400_000;
let clockOffset = 0;
let stack: SqlTestStack;

beforeAll(async () => {
  // One clock for minting and verifying: moving it past the tokens' expiry expires them.
  stack = await startSqlTestStack({}, { now: () => Date.now() + clockOffset });
});

afterAll(async () => {
  await stack.stop();
});

interface RequestFailure {
  number?: number;
  state?: number;
  class?: number;
  message: string;
}

function failureOf(connection: Connection, sql: string): Promise<RequestFailure | 'answered'> {
  return query(connection, sql).then(
    () => 'answered' as const,
    (error: RequestFailure) => error,
  );
}

function ended(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.closed) resolve();
    else connection.once('end', () => resolve());
  });
}

async function loggedIn(encrypt: EncryptMode = 'strict'): Promise<Connection> {
  const { connection } = await connect(
    tediousConfiguration(stack, encrypt, await authenticationFor(stack, 'access-token')),
  );
  connection.on('error', () => {});
  return connection;
}

describe('faults.recheckTokenOnEveryStatement()', () => {
  it('off (default): a session outlives its token, as a login-only check allows', async () => {
    const connection = await loggedIn();
    try {
      clockOffset = 2 * day;
      expect(await query(connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
    } finally {
      clockOffset = 0;
      await close(connection);
    }
  });

  it.each<EncryptMode>(['strict', true])(
    'on: a statement on a session whose token expired gets 18456 "Token is expired." and the session ends (encrypt: %s)',
    async (encrypt) => {
      const connection = await loggedIn(encrypt);
      stack.sql.faults.recheckTokenOnEveryStatement(true);
      try {
        expect(await query(connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
        clockOffset = 2 * day;
        const failure = await failureOf(connection, 'SELECT 1');
        expect(failure).toMatchObject({
          number: 18456,
          state: 233,
          class: 14,
          message: "Login failed for user '<token-identified principal>'. Token is expired.",
        });
        await ended(connection);
      } finally {
        clockOffset = 0;
        stack.sql.faults.clear();
        await close(connection);
      }
    },
  );

  it('on: a parameterised statement (sp_executesql) is refused the same way', async () => {
    const connection = await loggedIn();
    stack.sql.faults.recheckTokenOnEveryStatement(true);
    try {
      clockOffset = 2 * day;
      const failure = await query(connection, 'SELECT @value', [
        { name: 'value', type: 'Int', value: 7 },
      ]).then(
        () => 'answered',
        (error: RequestFailure) => error,
      );
      expect(failure).toMatchObject({ number: 18456, message: expect.stringContaining('Token is expired.') });
      await ended(connection);
    } finally {
      clockOffset = 0;
      stack.sql.faults.clear();
      await close(connection);
    }
  });

  it('on, with errorNumber 37396: "Query cannot be executed, access token is expired."', async () => {
    const connection = await loggedIn();
    stack.sql.faults.recheckTokenOnEveryStatement(true, { errorNumber: 37396 });
    try {
      clockOffset = 2 * day;
      const failure = await failureOf(connection, 'SELECT 1');
      expect(failure).toMatchObject({
        number: 37396,
        message:
          'Query cannot be executed, access token is expired. Please login with a new access token and execute query again.',
      });
      await ended(connection);
    } finally {
      clockOffset = 0;
      stack.sql.faults.clear();
      await close(connection);
    }
  });

  it('on: a session whose token is still valid is untouched', async () => {
    stack.sql.faults.recheckTokenOnEveryStatement(true);
    const connection = await loggedIn();
    try {
      for (let round = 0; round < 3; round += 1) {
        expect(await query(connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
      }
      expect(connection.closed).toBe(false);
    } finally {
      stack.sql.faults.clear();
      await close(connection);
    }
  });

  it('refuses an unknown error number', () => {
    expect(() =>
      stack.sql.faults.recheckTokenOnEveryStatement(true, { errorNumber: 40613 as 18456 }),
    ).toThrow(/18456 or 37396/);
  });
});
