import type { Connection } from 'tedious';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthenticationKind,
  authenticationFor,
  close,
  connect,
  type EncryptMode,
  query,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

let stack: SqlTestStack;

beforeAll(async () => {
  stack = await startSqlTestStack();
});

afterAll(async () => {
  await stack.stop();
});

function transaction(connection: Connection, step: 'begin' | 'commit' | 'rollback'): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null | undefined) => (error ? reject(error) : resolve());
    if (step === 'begin') connection.beginTransaction(done);
    else if (step === 'commit') connection.commitTransaction(done);
    else connection.rollbackTransaction(done);
  });
}

const encryptModes: EncryptMode[] = ['strict', true];
const authenticationKinds: AuthenticationKind[] = ['access-token', 'token-credential'];

describe.each(encryptModes)('encrypt: %s', (encrypt) => {
  describe.each(authenticationKinds)('%s', (kind) => {
    it('logs in as the managed identity and answers who, where and what', async () => {
      const loginsBefore = stack.sql.counters.logins;
      const { connection, infoMessages } = await connect(
        tediousConfiguration(stack, encrypt, await authenticationFor(stack, kind)),
      );
      try {
        expect(stack.sql.counters.logins).toBe(loginsBefore + 1);
        expect(infoMessages).toContain("Changed database context to 'keyless'.");
        expect(await query(connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
        expect(await query(connection, 'select  suser_sname() ;')).toEqual([
          { column0: stack.appIdentity.name },
        ]);
        expect(await query(connection, 'SELECT DB_NAME()')).toEqual([{ column0: 'keyless' }]);
        const [row] = await query(
          connection,
          'SELECT SUSER_SNAME() AS login, DB_NAME() AS db, @@VERSION AS version, @@SPID AS spid',
        );
        expect(row?.login).toBe(stack.appIdentity.name);
        expect(row?.db).toBe('keyless');
        expect(row?.version).toMatch(/keyless local SQL endpoint/);
        expect(row?.spid).toBeGreaterThan(50);
      } finally {
        await close(connection);
      }
    });

    it('inserts and reads dbo.notes with parameters, inside a committed transaction', async () => {
      const { connection } = await connect(
        tediousConfiguration(stack, encrypt, await authenticationFor(stack, kind)),
      );
      try {
        await query(connection, 'DELETE FROM dbo.notes');
        await transaction(connection, 'begin');
        expect(await query(connection, 'SELECT @@TRANCOUNT AS depth')).toEqual([{ depth: 1 }]);
        for (const body of ['first note', 'zweite Notiz ✓']) {
          await query(connection, 'INSERT INTO dbo.notes (body) VALUES (@body)', [
            { name: 'body', type: 'NVarChar', value: body },
          ]);
        }
        await transaction(connection, 'commit');
        expect(await query(connection, 'SELECT @@TRANCOUNT AS depth')).toEqual([{ depth: 0 }]);

        const notes = await query(connection, 'SELECT id, body FROM dbo.notes ORDER BY id');
        expect(notes.map((note) => note.body)).toEqual(['first note', 'zweite Notiz ✓']);
        const secondId = notes[1]?.id;
        expect(typeof secondId).toBe('number');
        expect(
          await query(connection, 'SELECT id, body FROM dbo.notes WHERE id = @id', [
            { name: 'id', type: 'Int', value: secondId as number },
          ]),
        ).toEqual([{ id: secondId, body: 'zweite Notiz ✓' }]);
      } finally {
        await close(connection);
      }
    });
  });
});
