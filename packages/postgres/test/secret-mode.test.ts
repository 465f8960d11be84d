import { inspect } from 'node:util';
import { AuthenticationFailedError, ConfigurationError, fromKeyVaultSecret } from '@keyless/core';
import { findLeaks, renderEveryWay } from '@keyless/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresConnector, type PasswordRefusedEvent, type PostgresConnector } from '../src/index.js';
import { secretName, useSecretModeStack } from './support/secret-mode-stack.js';

describe('@keyless/postgres in secret mode', () => {
  const fixture = useSecretModeStack();
  const { connect } = fixture;
  const savedEnvironment = { ...process.env };

  /** Runs `workers` query loops until stop() and counts what failed; every Nth query logs in anew. */
  const load = (connector: PostgresConnector, workers: number) => {
    const failures: unknown[] = [];
    let succeeded = 0;
    let running = true;
    const loop = async (worker: number) => {
      for (let iteration = 0; running; iteration += 1) {
        try {
          if ((iteration + worker) % 3 === 0) {
            // A fresh session: the password is asked for again.
            const client = await connector.pool.connect();
            try {
              await client.query('SELECT 1');
            } finally {
              client.release(true);
            }
          } else {
            await connector.query('SELECT 1');
          }
          succeeded += 1;
        } catch (error) {
          failures.push(error);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const done = Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
    return {
      failures,
      get succeeded() {
        return succeeded;
      },
      async stop() {
        running = false;
        await done;
      },
    };
  };

  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 25));
  };

  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in savedEnvironment)) delete process.env[name];
  });

  it('logs in with the Key Vault secret, configured from the environment alone', async () => {
    for (const name of [
      'KEYLESS_POSTGRES_HOST',
      'KEYLESS_POSTGRES_PORT',
      'KEYLESS_POSTGRES_DATABASE',
      'KEYLESS_POSTGRES_USER',
      'KEYLESS_POSTGRES_PASSWORD_SECRET',
      'KEYLESS_KEYVAULT_URL',
    ]) {
      process.env[name] = fixture.stack.env[name];
    }
    const connector = createPostgresConnector({
      password: fromKeyVaultSecret(),
      tokenProvider: fixture.tokenProvider,
    });
    fixture.track(connector);
    const result = await connector.query<{ user: string; ssl: boolean }>(
      'SELECT current_user AS user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    expect(result.rows[0]).toEqual({ user: 'keyless_app', ssl: true });
    expect(connector.mode).toBe('key-vault-secret');
  });

  it('creating the connector fetches nothing; connect() reads the password and leaves one connection in the pool', async () => {
    const reads = () => fixture.stack.keyVault?.counters.byOperation('getSecret') ?? 0;
    const before = reads();
    const connector = connect({
      password: fromKeyVaultSecret({ vaultUrl: fixture.stack.env.KEYLESS_KEYVAULT_URL, secretName }),
    });
    expect(reads()).toBe(before);
    expect(connector.pool.totalCount).toBe(0);
    await connector.connect();
    expect(reads()).toBeGreaterThan(before);
    expect(connector.pool.totalCount).toBe(1);
    expect(connector.pool.idleCount).toBe(1);
    // The first query finds that connection: no second login.
    await connector.query('SELECT 1');
    expect(connector.pool.totalCount).toBe(1);
  });

  it('connect() rejects with the typed error: a refused password, a secret that does not exist', async () => {
    fixture.stack.keyVault?.setSecret('stale-postgres-password', 'not-the-servers-password-4711');
    const refused = connect({
      password: fromKeyVaultSecret({ connector: fixture.vault, secretName: 'stale-postgres-password' }),
    });
    await expect(refused.connect()).rejects.toBeInstanceOf(AuthenticationFailedError);
    const missing = connect({
      password: fromKeyVaultSecret({ connector: fixture.vault, secretName: 'no-such-secret' }),
    });
    const error = await missing.connect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('no-such-secret');
    await missing.close();
    await expect(missing.connect()).rejects.toMatchObject({ code: 'closed' });
  });

  it('rides through two rotations under a steady load with zero failed queries', async () => {
    const connector = connect({ pool: { max: 4, maxLifetimeSeconds: 1 } });
    const refused: PasswordRefusedEvent[] = [];
    connector.on('password-refused', (event) => refused.push(event));
    const versions: string[] = [];
    const unsubscribe = fixture.vault
      .secret(secretName)
      .on('change', (event) => versions.push(event.version));
    const reads = fixture.stack.keyVault?.counters.byOperation('getSecret') ?? 0;

    await connector.query('SELECT 1');
    const running = load(connector, 4);
    try {
      await until(() => running.succeeded >= 40);
      for (let rotation = 1; rotation <= 2; rotation += 1) {
        await fixture.stack.rotatePostgresPassword();
        // Wait until a new session has met the new password, then a little more steady load.
        await until(() => refused.length >= rotation);
        const after = running.succeeded;
        await until(() => running.succeeded >= after + 80);
      }
    } finally {
      await running.stop();
      unsubscribe();
    }

    expect(running.failures).toEqual([]);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((event) => event.sqlState === '28P01' && event.willRetry)).toBe(true);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect((fixture.stack.keyVault?.counters.byOperation('getSecret') ?? 0) - reads).toBeGreaterThanOrEqual(
      2,
    );
    expect(connector.pool.totalCount).toBeLessThanOrEqual(4);
  });

  it('refuses a password the server does not know with AuthenticationFailedError, after one retry', async () => {
    fixture.stack.keyVault?.setSecret('stale-postgres-password', 'not-the-servers-password-4711');
    const connector = connect({
      password: fromKeyVaultSecret({ connector: fixture.vault, secretName: 'stale-postgres-password' }),
    });
    const refused: PasswordRefusedEvent[] = [];
    connector.on('password-refused', (event) => refused.push(event));
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    expect(error).toMatchObject({ code: 'authentication-failed' });
    expect((error as Error).message).toContain('stale-postgres-password');
    expect(refused).toHaveLength(1);
    const leaks = findLeaks(renderEveryWay(error).join('\n'), fixture.stack.keyVault?.secretValues() ?? []);
    expect(leaks).toEqual([]);
  });

  it("returns the server's error for a 140 KB value it echoes, as pg's own error", async () => {
    const connector = connect();
    const error = await connector
      .query('SELECT $1::int AS value', ['x'.repeat(140_000)])
      .catch((caught: unknown) => caught);
    // The application's business (invalid input syntax): not wrapped, and not redacted on the way.
    expect(error).toBeInstanceOf(pg.DatabaseError);
    expect(error).toMatchObject({ code: '22P02' });
    expect((error as Error).message.length).toBeGreaterThan(140_000);
  });

  it('rides through a server restart mid-load: new connections wait it out, only queries the shutdown cut off fail (typed), no leaked connections', async () => {
    const connector = connect({ pool: { max: 4 } });
    const idleErrors: unknown[] = [];
    connector.on('idle-connection-error', ({ error }) => idleErrors.push(error));
    const retries: unknown[] = [];
    connector.on('connect-retry', ({ error }) => retries.push(error));
    const running = load(connector, 4);
    try {
      await until(() => running.succeeded >= 40);
      await fixture.stack.postgres?.restart();
      const after = running.succeeded;
      await until(() => running.succeeded >= after + 40);
    } finally {
      await running.stop();
    }
    const untyped = (errors: unknown[]) =>
      errors.filter((error) => (error as { code?: unknown }).code !== 'unavailable').map(String);
    expect(untyped(running.failures)).toEqual([]);
    expect(untyped(idleErrors)).toEqual([]);
    expect(untyped(retries)).toEqual([]);
    // A connect refused while the server was down is waited out, never surfaced.
    const refusedConnects = running.failures.filter((error) =>
      /ECONNREFUSED|57P03/.test(String((error as { cause?: { code?: unknown } }).cause?.code)),
    );
    expect(refusedConnects).toEqual([]);
    const results = await Promise.all(Array.from({ length: 20 }, () => connector.query('SELECT 1 AS one')));
    expect(results.every((result) => result.rows[0]?.one === 1)).toBe(true);
    expect(connector.pool.totalCount).toBeLessThanOrEqual(4);
  });

  it('never prints the password: connector, pool, pooled client', async () => {
    const connector = connect();
    const client = await connector.pool.connect();
    try {
      const printed = [connector, connector.pool, client].flatMap(renderEveryWay).join('\n');
      expect(findLeaks(printed, fixture.stack.keyVault?.secretValues() ?? [])).toEqual([]);
      expect(inspect(connector)).toContain(secretName);
    } finally {
      client.release();
    }
  });
});
