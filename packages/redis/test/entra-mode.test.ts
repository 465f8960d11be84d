import { createTokenProvider, entraToken, fromKeyVaultSecret } from '@keyless/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnector, type RedisConnectorEvent } from '../src/index.ts';
import { connection, rawAuth, startTestStack, startWriters, type TestStack, until } from './support.ts';

const redisResources = new Set(['https://redis.azure.com', 'https://redis.azure.com/']);

describe('Entra mode (token as password, re-AUTH before expiry)', () => {
  let test: TestStack;
  const connectors: RedisConnector[] = [];
  /** Tokens minted for Redis, kept only to prove old ones are refused; never printed. */
  const redisTokens: { token: string; expiresAtMs: number }[] = [];

  beforeAll(async () => {
    test = await startTestStack();
    test.stack.identity.onTokenIssued((event) => {
      if (redisResources.has(event.resource))
        redisTokens.push({ token: event.token, expiresAtMs: event.expiresOnSeconds * 1000 });
    });
  });

  afterAll(async () => {
    for (const connector of connectors) await connector.close();
    await test?.stop();
  });

  async function connect(tokenProvider = test.tokenProvider, objectId = test.stack.appIdentity.objectId) {
    const connector = createRedisConnector({
      ...connection(test.stack),
      password: entraToken(),
      user: objectId,
      tokenProvider,
    });
    connectors.push(connector);
    await connector.connect();
    return connector;
  }

  // First: the process-wide token cache must not already hold a 24-hour Redis token.
  it('re-AUTHs every live connection across three token generations without failing a command', async () => {
    test.stack.identity.setTokenLifetime(4);
    const tokenProvider = createTokenProvider({ identity: { clientId: test.stack.appIdentity.clientId } });
    try {
      const connector = await connect(tokenProvider);
      const { client } = connector;
      const reauthenticated: RedisConnectorEvent[] = [];
      connector.on('reauthenticated', (event) => reauthenticated.push(event));

      const subscriber = connector.duplicate();
      const received: string[] = [];
      subscriber.on('message', (_channel, message) => received.push(message));
      await subscriber.subscribe('entra-mode:news');

      const key = 'entra-mode:counter';
      await client.del(key, 'entra-mode:transactions');
      const writers = startWriters(client, key, 3);
      // Transactions and publications run alongside, so re-AUTHs land between them.
      const transactionResults: unknown[] = [];
      let published = 0;
      let running = true;
      const sideLoad = (async () => {
        while (running) {
          transactionResults.push(
            await client.multi().incr('entra-mode:transactions').incr('entra-mode:transactions').exec(),
          );
          await client.publish('entra-mode:news', String(published));
          published += 1;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();

      await until(() => reauthenticated.length >= 3, 20_000, 'three re-authentications');
      running = false;
      await sideLoad;
      const result = await writers.stop();

      expect(result.failures).toEqual([]);
      expect(Number(await client.get(key))).toBe(result.successes);
      // Every re-AUTH reached both connections: the main client and the subscriber.
      expect(reauthenticated.slice(0, 3).every((event) => event.connections === 2)).toBe(true);
      // Each MULTI/EXEC ran whole: two replies, consecutive values, no AUTH reply inside.
      for (const [index, transaction] of transactionResults.entries()) {
        expect(transaction).toEqual([
          [null, 2 * index + 1],
          [null, 2 * index + 2],
        ]);
      }
      await until(() => received.length === published, 5_000, 'every published message');
      expect(received).toEqual(Array.from({ length: published }, (_, index) => String(index)));
      expect(new Set(redisTokens.map((entry) => entry.token)).size).toBeGreaterThanOrEqual(4);

      // The tokens of earlier generations expire and are refused; the connection stays usable.
      const firstExpiry = Math.min(...redisTokens.map((entry) => entry.expiresAtMs));
      await until(() => Date.now() > firstExpiry + 500, 10_000, 'the first token to expire');
      const expired = redisTokens.filter((entry) => entry.expiresAtMs < Date.now() - 250);
      expect(expired.length).toBeGreaterThan(0);
      for (const entry of expired) {
        expect(await rawAuth(client, test.stack.appIdentity.objectId, entry.token)).toBe('WRONGPASS');
      }
      const current = await tokenProvider.getToken('https://redis.azure.com/.default');
      expect(await rawAuth(client, test.stack.appIdentity.objectId, current.token)).toBe('OK');
      expect(await client.incr(key)).toBe(result.successes + 1);
      await connector.close();
    } finally {
      test.stack.identity.setTokenLifetime(86_400);
      await tokenProvider.close();
    }
  });

  it('fails with AuthenticationFailedError for an identity that has no access policy (system-assigned)', async () => {
    const systemIdentity = test.stack.identity.systemAssigned;
    if (!systemIdentity) throw new Error('the stack has no system-assigned identity');
    const tokenProvider = createTokenProvider({ identity: 'system-assigned' });
    try {
      const failure = await connect(tokenProvider, systemIdentity.objectId).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: 'AuthenticationFailedError', code: 'authentication-failed' });
      expect((failure as { hint: string }).hint).toMatch(/az redis access-policy-assignment create/);
      const text = `${(failure as Error).message} ${(failure as Error).stack}`;
      expect(redisTokens.some((entry) => text.includes(entry.token))).toBe(false);
    } finally {
      await tokenProvider.close();
    }
  });

  it('survives a server restart under load: reconnects, fails nothing, leaks no connection', async () => {
    const connector = await connect();
    const { client } = connector;
    client.on('error', () => {});
    const subscriber = connector.duplicate();
    subscriber.on('error', () => {});
    await subscriber.subscribe('entra-mode:restart');

    const writers = startWriters(client, 'entra-mode:restart', 3);
    await until(() => writers.state.successes >= 200, 10_000, 'writes before the restart');
    await test.stack.redis?.restart();
    const after = writers.state.successes;
    await until(() => writers.state.successes >= after + 200, 15_000, 'writes after the restart');
    const result = await writers.stop();
    expect(result.failures).toEqual([]);
    await until(() => subscriber.status === 'ready', 10_000, 'the subscriber to reconnect');

    // An observer with its own credentials counts the app's connections on the server.
    const observer = createRedisConnector({
      ...connection(test.stack),
      password: fromKeyVaultSecret({
        vaultUrl: test.stack.env.KEYLESS_KEYVAULT_URL,
        secretName: 'redis-password',
      }),
      user: 'keyless-app',
      tokenProvider: test.tokenProvider,
    });
    connectors.push(observer);
    const connectionsOf = async (user: string) =>
      String(await observer.client.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` user=${user} `)).length;
    expect(await connectionsOf(test.stack.appIdentity.objectId)).toBe(2);
    await connector.close();
    await until(() => subscriber.status === 'end', 5_000, 'the subscriber to close');
    expect(await connectionsOf(test.stack.appIdentity.objectId)).toBe(0);
  });

  it('prints no token: connector, client and duplicates', async () => {
    const connector = await connect();
    const subscriber: Redis = connector.client.duplicate();
    await subscriber.ping();
    const { inspect } = await import('node:util');
    const text = [connector, connector.client, subscriber]
      .flatMap((value) => [inspect(value, { depth: 8, showHidden: true }), JSON.stringify(value)])
      .join('\n');
    expect(redisTokens.some((entry) => text.includes(entry.token))).toBe(false);
    expect(text).toContain(test.stack.appIdentity.objectId);
    await connector.close();
  });
});
