import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresInstance, startPostgres } from '../src/index.js';
import { openSession, tryLogin } from './support/postgres-clients.js';

describe('PostgreSQL password authentication', () => {
  let instance: PostgresInstance;

  beforeAll(async () => {
    instance = await startPostgres({
      users: [
        { name: 'app', password: 'first-password' },
        { name: 'reporting', password: 'reporting-password' },
      ],
    });
  });

  afterAll(async () => {
    await instance?.stop();
  });

  it('runs on a private loopback port, not the shared 5432', () => {
    expect(instance.host).toBe('127.0.0.1');
    expect(instance.port).not.toBe(5432);
    expect(instance.database).toBe('keyless');
  });

  it('accepts the right password with scram-sha-256', async () => {
    const session = await openSession(instance, 'app', 'first-password');
    try {
      const { rows } = await session.query<{ user: string; database: string }>(
        'SELECT current_user AS user, current_database() AS database',
      );
      expect(rows[0]).toEqual({ user: 'app', database: 'keyless' });
      const [stored] = (await instance.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")) as {
        rolpassword: string;
      }[];
      expect(stored?.rolpassword.startsWith('SCRAM-SHA-256$4096:')).toBe(true);
    } finally {
      await session.end();
    }
  });

  it('refuses a wrong password with SQLSTATE 28P01', async () => {
    expect(await tryLogin(instance, 'app', 'not-the-password')).toBe('28P01');
    expect(await tryLogin(instance, 'nobody', 'first-password')).toBe('28P01');
  });

  it('refuses the superuser over TCP: it exists only on the private socket', async () => {
    expect(await tryLogin(instance, 'keyless_admin', 'anything')).toBe('28000');
  });

  it('lets password users create and use tables in the database', async () => {
    const session = await openSession(instance, 'app', 'first-password');
    try {
      await session.query('CREATE TABLE notes (id int PRIMARY KEY, body text)');
      await session.query("INSERT INTO notes VALUES (1, 'hello')");
      expect(await instance.query('SELECT body FROM notes WHERE id = $1', [1])).toEqual([{ body: 'hello' }]);
    } finally {
      await session.end();
    }
  });

  it('rotates a password: new logins need the new one, an open session stays up', async () => {
    const openBeforeRotation = await openSession(instance, 'reporting', 'reporting-password');
    try {
      const rotated = await instance.rotatePassword('reporting');
      expect(rotated).not.toBe('reporting-password');
      expect(rotated.length).toBeGreaterThanOrEqual(32);
      expect(await tryLogin(instance, 'reporting', 'reporting-password')).toBe('28P01');
      expect(await tryLogin(instance, 'reporting', rotated)).toBe('reporting');
      const { rows } = await openBeforeRotation.query<{ answer: number }>('SELECT 42 AS answer');
      expect(rows[0]?.answer).toBe(42);
    } finally {
      await openBeforeRotation.end();
    }
  });

  it('rotates to a chosen password; quotes and SASLprep-affected characters included', async () => {
    // A no-break space, a soft hyphen and a ligature: the stored verifier must match what pg sends.
    const chosenPassword = "chosen p\u00e4ssword\u00a0with 'quotes'\u00ad \ufb01";
    const chosen = await instance.rotatePassword('reporting', chosenPassword);
    expect(chosen).toBe(chosenPassword);
    expect(await tryLogin(instance, 'reporting', chosen)).toBe('reporting');
  });

  it('keeps the password out of the error when rotation fails', async () => {
    const failure = await instance.rotatePassword('nobody', 'canary-password-4711').then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(/role "nobody" does not exist/);
    expect(inspect(failure)).not.toContain('canary-password-4711');
  });

  it('never shows a password when the instance is printed', () => {
    expect(inspect(instance)).toBe(
      `PostgresInstance { host: '127.0.0.1', port: ${instance.port}, database: 'keyless' }`,
    );
    expect(JSON.parse(JSON.stringify(instance))).toEqual({
      host: '127.0.0.1',
      port: instance.port,
      database: 'keyless',
    });
  });
});
