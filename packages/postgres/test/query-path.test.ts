import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { secretName, useSecretModeStack } from './support/secret-mode-stack.js';

/** Promises created while `operation` runs (async_hooks sees every one, native and internal). */
async function promisesMadeBy(operation: () => Promise<unknown>): Promise<number> {
  let made = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') made += 1;
    },
  }).enable();
  try {
    await operation();
  } finally {
    hook.disable();
  }
  return made;
}

/**
 * The query path is what the benchmark's throughput ratio measures (README, Performance): on a warm
 * pool, keyless's query must cost no more than pg-pool's own promise form. Counted, not timed.
 */
describe('the query path of a warm pool', () => {
  const fixture = useSecretModeStack();
  const pools: pg.Pool[] = [];

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.end();
  });

  it('connector.query makes no more promises than a raw pg.Pool.query, and maps nothing on success', async () => {
    // A password the test knows, for the raw pool: set on the server and as the secret's new version.
    const { stack } = fixture;
    const password = randomBytes(18).toString('base64url');
    await stack.postgres?.rotatePassword(stack.env.KEYLESS_POSTGRES_USER as string, password);
    stack.keyVault?.setSecret(secretName, password);
    const connector = fixture.connect({ pool: { max: 1 } });
    const raw = new pg.Pool({
      host: stack.env.KEYLESS_POSTGRES_HOST,
      port: Number(stack.env.KEYLESS_POSTGRES_PORT),
      database: stack.env.KEYLESS_POSTGRES_DATABASE,
      user: stack.env.KEYLESS_POSTGRES_USER,
      password,
      ssl: true,
      max: 1,
    });
    pools.push(raw);
    // Warm: each pool holds its one logged-in connection, so only the query path is counted.
    for (let index = 0; index < 3; index += 1) {
      await connector.query('SELECT 1');
      await raw.query('SELECT 1');
    }
    const keyless: number[] = [];
    const rawCounts: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      keyless.push(await promisesMadeBy(() => connector.query('SELECT $1::int AS one', [1])));
      rawCounts.push(await promisesMadeBy(() => raw.query('SELECT $1::int AS one', [1])));
    }
    expect(Math.max(...keyless)).toBeLessThanOrEqual(Math.min(...rawCounts));
    const result = await connector.query('SELECT $1::int AS one', [1]);
    expect(result.rows).toEqual([{ one: 1 }]);
  });

  it("an application's SQL error stays pg's own, with a stack that leads back to the caller", async () => {
    const connector = fixture.connect();
    const failure = await (async function callerOfTheQuery() {
      return await connector.query('SELECT * FROM no_such_table').then(
        () => undefined,
        (error: unknown) => error,
      );
    })();
    expect(failure).toBeInstanceOf(pg.DatabaseError);
    expect((failure as pg.DatabaseError).code).toBe('42P01');
    expect((failure as Error).stack).toContain('callerOfTheQuery');
  });
});
