import { type Connection, Request } from 'tedious';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticationFor,
  close,
  connect,
  query,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

let stack: SqlTestStack;
let connection: Connection;

beforeAll(async () => {
  stack = await startSqlTestStack();
  ({ connection } = await connect(
    tediousConfiguration(stack, 'strict', await authenticationFor(stack, 'token-credential')),
  ));
});

afterAll(async () => {
  await close(connection);
  await stack.stop();
});

interface RequestFailure {
  code?: string;
  number?: number;
  class?: number;
  message: string;
}

async function failure(run: Promise<unknown>): Promise<RequestFailure> {
  try {
    await run;
  } catch (error) {
    return error as RequestFailure;
  }
  throw new Error('the request succeeded');
}

function callback(run: (done: (error: Error | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
}

describe('statements', () => {
  it('answers an unsupported statement with a SQL error naming what is supported, and stays usable', async () => {
    const error = await failure(query(connection, 'SELECT * FROM sys.tables'));
    expect(error.code).toBe('EREQUEST');
    expect(error.number).toBe(40515);
    expect(error.class).toBe(16);
    expect(error.message).toMatch(
      /^Statement not supported by the keyless local SQL endpoint: SELECT \* FROM sys\.tables\. Supported: SELECT 1;/,
    );
    const parameterised = await failure(
      query(connection, 'UPDATE dbo.notes SET body = @body', [
        { name: 'body', type: 'NVarChar', value: 'x' },
      ]),
    );
    expect(parameterised.number).toBe(40515);
    expect(await query(connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('reports an undeclared variable as SQL Server does', async () => {
    const error = await failure(query(connection, 'INSERT INTO dbo.notes (body) VALUES (@body)'));
    expect(error.number).toBe(137);
  });

  it('refuses stored procedures other than sp_executesql', async () => {
    const error = await failure(
      callback((done) => connection.callProcedure(new Request('dbo.anything', done))),
    );
    expect(error.number).toBe(2812);
  });

  it('rolls back inserts, and refuses a commit without a transaction', async () => {
    await query(connection, 'DELETE FROM dbo.notes');
    await callback((done) => connection.beginTransaction(done));
    await query(connection, 'INSERT INTO dbo.notes (body) VALUES (@body)', [
      { name: 'body', type: 'NVarChar', value: 'gone soon' },
    ]);
    expect(await query(connection, 'SELECT id, body FROM dbo.notes')).toHaveLength(1);
    await callback((done) => connection.rollbackTransaction(done));
    expect(await query(connection, 'SELECT id, body FROM dbo.notes')).toEqual([]);
    const error = await failure(callback((done) => connection.commitTransaction(done)));
    expect(error.number).toBe(3902);
  });

  it('carries messages over several packets both ways (a 4000-character note)', async () => {
    await query(connection, 'DELETE FROM dbo.notes');
    const body = 'keyless '.repeat(500);
    await query(connection, 'INSERT INTO dbo.notes (body) VALUES (@body)', [
      { name: 'body', type: 'NVarChar', value: body },
    ]);
    const [note] = await query(connection, 'SELECT id, body FROM dbo.notes ORDER BY id');
    expect(note?.body).toBe(body);
  });

  it('runs transactions written as SQL too', async () => {
    await query(connection, 'BEGIN TRANSACTION');
    expect(await query(connection, 'SELECT @@TRANCOUNT AS depth')).toEqual([{ depth: 1 }]);
    await query(connection, 'COMMIT');
    expect(await query(connection, 'SELECT @@TRANCOUNT AS depth')).toEqual([{ depth: 0 }]);
  });

  it('resets the connection for a pool (RESETCONNECTION), rolling back an open transaction', async () => {
    let resets = 0;
    connection.on('resetConnection', () => {
      resets += 1;
    });
    await callback((done) => connection.beginTransaction(done));
    await callback((done) => connection.reset(done));
    expect(resets).toBe(1);
    expect(await query(connection, 'SELECT @@TRANCOUNT AS depth')).toEqual([{ depth: 0 }]);
  });

  it('cancels a running request (ATTENTION) and keeps the connection', async () => {
    const running = failure(query(connection, "WAITFOR DELAY '00:00:20'"));
    setTimeout(() => connection.cancel(), 50);
    const error = await running;
    expect(error.code).toBe('ECANCEL');
    expect(await query(connection, 'SELECT DB_NAME() AS db')).toEqual([{ db: 'keyless' }]);
  });

  it('counts queries', async () => {
    stack.sql.counters.reset();
    await query(connection, 'SELECT 1');
    await query(connection, 'SELECT id, body FROM dbo.notes WHERE id = @id', [
      { name: 'id', type: 'Int', value: 1 },
    ]);
    expect(stack.sql.counters.queries).toBe(2);
    expect(stack.sql.counters.openConnections).toBe(1);
  });
});

describe('a statement about an object that does not exist', () => {
  it('is error 208 "Invalid object name", as from Azure SQL, and the connection stays usable', async () => {
    const error = await failure(query(connection, 'SELECT id, body FROM dbo.missing_table'));
    expect(error.code).toBe('EREQUEST');
    expect(error.number).toBe(208);
    expect(error.class).toBe(16);
    expect(error.message).toBe("Invalid object name 'dbo.missing_table'.");
    const parameterised = await failure(
      query(connection, 'INSERT INTO [Orders] (body) VALUES (@body)', [
        { name: 'body', type: 'NVarChar', value: 'x' },
      ]),
    );
    expect(parameterised).toMatchObject({ number: 208, message: "Invalid object name 'Orders'." });
    expect(await query(connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
