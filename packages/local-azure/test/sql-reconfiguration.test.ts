import { performance } from 'node:perf_hooks';
import type { Connection, ConnectionConfiguration } from 'tedious';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transientLoginErrorNumbers } from '../src/sql/transient-errors.js';
import {
  authenticationFor,
  close,
  connect,
  LoginRefused,
  query,
  refusedLogin,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

// Azure SQL reconfigures databases (patching, scaling, failover, serverless resume): "Most
// reconfiguration events are short-lived and should be completed in less than 60 seconds", and
// logins meanwhile get transient errors such as 40613
// (https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues).

let stack: SqlTestStack;

beforeAll(async () => {
  stack = await startSqlTestStack();
});

afterAll(async () => {
  await stack.stop();
});

async function configuration(
  options: ConnectionConfiguration['options'] = {},
): Promise<ConnectionConfiguration> {
  const base = tediousConfiguration(stack, 'strict', await authenticationFor(stack, 'token-credential'));
  return { ...base, options: { ...base.options, ...options } };
}

function ended(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.closed) resolve();
    else connection.once('end', () => resolve());
  });
}

function waitFor(connection: Connection, seconds: number): Promise<unknown> {
  return query(connection, `WAITFOR DELAY '00:00:0${seconds}'`).then(
    () => 'answered',
    (error: Error) => error,
  );
}

describe('faults.reconfigure()', () => {
  it('refuses every new login with 40613 for the duration, then accepts logins again', async () => {
    stack.sql.counters.reset();
    stack.sql.faults.reconfigure({ durationMs: 1_500 });
    expect(stack.sql.faults.reconfiguring).toBe(true);
    const refusal = await refusedLogin(await configuration({ maxRetriesOnTransientErrors: 0 }));
    expect(refusal.clientError.code).toBe('ELOGIN');
    expect(refusal.serverErrors).toEqual([
      {
        number: 40613,
        state: 1,
        class: 17,
        message: expect.stringMatching(
          /^Database 'keyless' on server 'keyless-local' is not currently available\. Please retry the connection later\. If the problem persists, contact customer support, and provide them with the session tracing ID of '[0-9a-f-]{36}'\.$/,
        ),
      },
    ]);
    expect(stack.sql.counters.failedLogins).toBe(1);
    expect(stack.sql.counters.logins).toBe(0);

    // A client that keeps retrying gets in once the reconfiguration is over.
    let attempts = 0;
    let connection: Connection | undefined;
    while (connection === undefined && attempts < 100) {
      attempts += 1;
      connection = await connect(await configuration({ maxRetriesOnTransientErrors: 0 })).then(
        (outcome) => outcome.connection,
        async (error: unknown) => {
          if (!(error instanceof LoginRefused) || error.serverErrors[0]?.number !== 40613) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        },
      );
    }
    try {
      expect(attempts).toBeGreaterThan(1);
      expect(stack.sql.faults.reconfiguring).toBe(false);
      expect(await query(connection as Connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
    } finally {
      if (connection) await close(connection);
    }
  });

  it("outlasts tedious's own transient retry (3 retries, 500 ms apart), as a 60 s reconfiguration does", async () => {
    stack.sql.faults.reconfigure({ durationMs: 60_000 });
    try {
      const started = performance.now();
      const refusal = await refusedLogin(await configuration());
      expect(refusal.serverErrors.map((error) => error.number)).toEqual([40613, 40613, 40613, 40613]);
      // Bound that detects a hang, not a speed claim.
      expect(performance.now() - started).toBeLessThan(30_000);
    } finally {
      stack.sql.faults.clear();
    }
    expect(stack.sql.faults.reconfiguring).toBe(false);
  });

  it.each(transientLoginErrorNumbers.map((number) => [number]))(
    'answers logins with transient error %i and its documented severity',
    async (errorNumber) => {
      stack.sql.faults.reconfigure({ durationMs: 60_000, errorNumber });
      try {
        const refusal = await refusedLogin(await configuration({ maxRetriesOnTransientErrors: 0 }));
        const expected: Record<number, number> = {
          926: 14,
          4060: 16,
          40197: 17,
          40501: 20,
          40613: 17,
          49918: 16,
          49919: 16,
          49920: 16,
          4221: 16,
          615: 21,
        };
        expect(refusal.serverErrors[0]).toMatchObject({ number: errorNumber, class: expected[errorNumber] });
        // SQL Server follows 4060 with 18456; the others come alone, with no LOGINACK.
        expect(refusal.serverErrors.map((error) => error.number)).toEqual(
          errorNumber === 4060 ? [4060, 18456] : [errorNumber],
        );
      } finally {
        stack.sql.faults.clear();
      }
    },
  );

  it("'close-when-idle' (default): answers the request in flight, then closes; idle sessions close at once", async () => {
    const busy = (await connect(await configuration())).connection;
    const idle = (await connect(await configuration())).connection;
    busy.on('error', () => {});
    idle.on('error', () => {});
    try {
      const answer = waitFor(busy, 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      stack.sql.faults.reconfigure({ durationMs: 1_000 });
      await ended(idle);
      expect(busy.closed).toBe(false);
      expect(await answer).toBe('answered');
      await ended(busy);
    } finally {
      stack.sql.faults.clear();
      await close(busy);
      await close(idle);
    }
  });

  it("'keep': sessions already logged in go on working while new logins are refused", async () => {
    const { connection } = await connect(await configuration());
    try {
      stack.sql.faults.reconfigure({ durationMs: 60_000, existingSessions: 'keep' });
      await refusedLogin(await configuration({ maxRetriesOnTransientErrors: 0 }));
      expect(await query(connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
      expect(connection.closed).toBe(false);
    } finally {
      stack.sql.faults.clear();
      await close(connection);
    }
  });

  it("'kill': a session is cut mid-request", async () => {
    const { connection } = await connect(await configuration());
    connection.on('error', () => {});
    try {
      const answer = waitFor(connection, 5);
      await new Promise((resolve) => setTimeout(resolve, 200));
      stack.sql.faults.reconfigure({ durationMs: 1_000, existingSessions: 'kill' });
      const outcome = await answer;
      expect(outcome).toBeInstanceOf(Error);
      await ended(connection);
    } finally {
      stack.sql.faults.clear();
      await close(connection);
    }
  });

  it('refuses a bad duration, error number or session mode', () => {
    expect(() => stack.sql.faults.reconfigure({ durationMs: -1 })).toThrow(RangeError);
    expect(() => stack.sql.faults.reconfigure({ durationMs: 10, errorNumber: 18456 as 40613 })).toThrow(
      /transient errors/,
    );
    expect(() =>
      stack.sql.faults.reconfigure({ durationMs: 10, existingSessions: 'drop' as 'kill' }),
    ).toThrow(/existingSessions/);
    expect(stack.sql.faults.reconfiguring).toBe(false);
  });
});
