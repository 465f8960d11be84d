import { type AuthenticationFailedError, fromKeyVaultSecret } from '@keyless/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnector } from '../src/index.ts';
import {
  connection,
  dropOwnConnection,
  startTestStack,
  startWriters,
  type TestStack,
  until,
} from './support.ts';

describe('secret mode (password from Key Vault)', () => {
  let test: TestStack;
  const connectors: RedisConnector[] = [];

  beforeAll(async () => {
    test = await startTestStack();
  });

  afterAll(async () => {
    for (const connector of connectors) await connector.close();
    await test?.stop();
  });

  async function connect(secretName = 'redis-password') {
    const connector = createRedisConnector({
      ...connection(test.stack),
      password: fromKeyVaultSecret({ vaultUrl: test.stack.env.KEYLESS_KEYVAULT_URL, secretName }),
      user: 'keyless-app',
      tokenProvider: test.tokenProvider,
    });
    connectors.push(connector);
    await connector.connect();
    return connector;
  }

  it('loses no command across two rotations and forced reconnects under load', async () => {
    const connector = await connect();
    const { client } = connector;
    // A dropped socket reports EPIPE/ECONNRESET as 'error' events; the commands themselves must not fail.
    client.on('error', () => {});
    const refreshed: number[] = [];
    connector.on('password-refreshed', (event) => refreshed.push(event.at));
    const key = 'secret-mode:counter';
    await client.del(key);
    const firstId = await client.client('ID');

    const writers = startWriters(client, key, 3);
    for (const round of [1, 2]) {
      const before = writers.state.successes;
      await until(() => writers.state.successes >= before + 200, 15_000, 'writes before rotating');
      await test.stack.rotateRedisPassword();
      // Redis keeps authenticated connections after a rotation; a dropped one must log in afresh.
      await dropOwnConnection(client);
      await until(() => refreshed.length >= round, 15_000, `the rotated password (round ${round})`);
      const after = writers.state.successes;
      await until(() => writers.state.successes >= after + 200, 15_000, 'writes after rotating');
    }
    const result = await writers.stop();

    expect(result.failures).toEqual([]);
    expect(Number(await client.get(key))).toBe(result.successes);
    expect(refreshed.length).toBe(2);
    expect(await client.client('ID')).not.toBe(firstId);
  });

  it('fails with AuthenticationFailedError when the secret holds a wrong password', async () => {
    test.stack.keyVault?.setSecret('redis-wrong-password', 'not-the-redis-password');
    const failure = await connect('redis-wrong-password').then(
      () => undefined,
      (error: unknown) => error,
    );
    // By name and code: vitest may load @keyless/core twice (inlined and native), so not instanceof.
    expect(failure).toMatchObject({ name: 'AuthenticationFailedError', code: 'authentication-failed' });
    const text = `${(failure as Error).message} ${(failure as Error).stack}`;
    expect(text).toMatch(/keyless-app/);
    expect(text).not.toContain('not-the-redis-password');
  });

  it('fails queued commands with AuthenticationFailedError once the fresh secret is refused too, and recovers when it is fixed', async () => {
    const connector = await connect();
    const { client } = connector;
    client.on('error', () => {});
    // The server's password changes, but the vault still has the old one: retrying cannot help.
    const redis = test.stack.redis;
    if (!redis) throw new Error('redis is not running');
    const newPassword = await redis.rotatePassword('keyless-app');
    await dropOwnConnection(client);
    const failure = await client.incr('secret-mode:refused').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: 'AuthenticationFailedError', code: 'authentication-failed' });
    expect((failure as AuthenticationFailedError).hint).toMatch(/secret/);

    // The rotation job catches up: the connector finds the new version on its own.
    test.stack.keyVault?.setSecret('redis-password', newPassword);
    await until(() => client.status === 'ready', 20_000, 'the connection to recover');
    expect(await client.incr('secret-mode:refused')).toBe(1);
  });
});
