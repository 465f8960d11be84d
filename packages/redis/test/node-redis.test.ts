import { createTokenProvider, entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  createNodeRedisConnector,
  type NodeRedisClient,
  type NodeRedisConnector,
  type RedisConnectorEvent,
} from '../src/index.ts';
import {
  connection,
  expectOnlyDroppedInFlightFailures,
  startTestStack,
  startVerifyingWriters,
  type TestStack,
  until,
} from './support.ts';

const redisResources = new Set(['https://redis.azure.com', 'https://redis.azure.com/']);

/** Concurrent INCR writers on a node-redis client, counting what succeeded and what failed. */
function startWriters(client: NodeRedisClient, key: string, writers = 3) {
  const state = { running: true, successes: 0, failures: [] as string[] };
  const loops = Array.from({ length: writers }, async () => {
    while (state.running) {
      try {
        await client.incr(key);
        state.successes += 1;
      } catch (error) {
        state.failures.push(error instanceof Error ? `${error.name}: ${error.message}` : 'non-error');
      }
    }
  });
  return {
    state,
    async stop() {
      state.running = false;
      await Promise.all(loops);
      return state;
    },
  };
}

/** Drops the client's own connection as a network blip would (see support.ts, dropOwnConnection). */
async function dropOwnConnection(client: NodeRedisClient): Promise<void> {
  const id = await client.clientId();
  await client.sendCommand(['CLIENT', 'KILL', 'ID', String(id), 'SKIPME', 'no']).catch(() => {});
}

describe('node-redis v5 (createNodeRedisConnector)', () => {
  let test: TestStack;
  const connectors: NodeRedisConnector[] = [];
  /** Every Redis token minted, to prove none is printed; never printed itself. */
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

  function secretConnector(secretName = 'redis-password') {
    const made = createNodeRedisConnector({
      ...connection(test.stack),
      password: fromKeyVaultSecret({ vaultUrl: test.stack.env.KEYLESS_KEYVAULT_URL, secretName }),
      user: 'keyless-app',
      tokenProvider: test.tokenProvider,
    });
    connectors.push(made);
    return made;
  }

  function entraConnector(
    tokenProvider: TokenProvider = test.tokenProvider,
    objectId = test.stack.appIdentity.objectId,
  ) {
    const made = createNodeRedisConnector({
      ...connection(test.stack),
      password: entraToken(),
      user: objectId,
      tokenProvider,
    });
    connectors.push(made);
    return made;
  }

  // First: the process-wide token cache must not already hold a 24-hour Redis token.
  it('Entra mode: three token generations pass on one live connection — AUTH re-sent, no failed command, no expiry drop', async () => {
    test.stack.identity.setTokenLifetime(4);
    const shortLived = createTokenProvider({ identity: { clientId: test.stack.appIdentity.clientId } });
    try {
      const made = entraConnector(shortLived);
      await made.connect();
      const { client } = made;
      const reauthenticated: RedisConnectorEvent[] = [];
      made.on('reauthenticated', (event) => reauthenticated.push(event));
      const firstId = await client.clientId();
      const dropsBefore = test.stack.redis?.counters.expiryDrops ?? 0;
      const key = 'node-redis:entra-counter';
      await client.del(key);
      const tokensBefore = new Set(redisTokens.map((entry) => entry.token)).size;

      const writers = startWriters(client, key);
      // Stopped whatever happens: a failed wait must not leave the writers spinning (the run would hang).
      const result = await until(() => reauthenticated.length >= 3, 30_000, 'three re-authentications')
        .finally(() => writers.stop())
        .then(() => writers.state);

      expect(result.failures).toEqual([]);
      expect(result.successes).toBeGreaterThan(0);
      expect(Number(await client.get(key))).toBe(result.successes);
      // Each round's AUTH was accepted on the one live connection ...
      expect(reauthenticated.slice(0, 3).every((event) => event.connections === 1)).toBe(true);
      // ... which is still the first one (not reconnected), with three newer tokens minted for it.
      expect(await client.clientId()).toBe(firstId);
      expect(new Set(redisTokens.map((entry) => entry.token)).size - tokensBefore).toBeGreaterThanOrEqual(3);
      // The gateway closes a connection whose token expired without a newer AUTH: it closed none.
      expect(test.stack.redis?.counters.expiryDrops ?? 0).toBe(dropsBefore);
      await made.close();
    } finally {
      test.stack.identity.setTokenLifetime(86_400);
      await shortLived.close();
    }
  }, 90_000);

  it('secret mode: connects, runs commands, and picks up a rotated password on reconnect without a failed command', async () => {
    const made = secretConnector();
    await made.connect();
    const { client } = made;
    expect(await client.ping()).toBe('PONG');
    const refreshed: RedisConnectorEvent[] = [];
    made.on('password-refreshed', (event) => refreshed.push(event));
    const key = 'node-redis:secret-counter';
    await client.del(key);
    const firstId = await client.clientId();

    const writers = startWriters(client, key);
    onTestFinished(() => writers.stop().then(() => undefined));
    await until(() => writers.state.successes >= 100, 20_000, 'writes before rotating');
    await test.stack.rotateRedisPassword();
    // Redis keeps authenticated connections after a rotation; the dropped one must log in afresh.
    await dropOwnConnection(client);
    await until(() => refreshed.length >= 1, 20_000, 'the rotated password');
    const after = writers.state.successes;
    await until(() => writers.state.successes >= after + 100, 20_000, 'writes after rotating');
    // node-redis (unlike ioredis) fails what was in flight when the socket dropped, and what it
    // wrote behind the refused handshake (NOAUTH); nothing else, and nothing once logged in again.
    const failuresAfterRecovery = writers.state.failures.length;
    const recovered = writers.state.successes;
    await until(() => writers.state.successes >= recovered + 100, 20_000, 'writes after recovering');
    const result = await writers.stop();

    expect(result.failures.length).toBe(failuresAfterRecovery);
    for (const failure of result.failures) {
      expect(failure).toMatch(/Socket closed unexpectedly|NOAUTH/);
    }
    const { count } = { count: Number(await client.get(key)) };
    expect(count).toBeGreaterThanOrEqual(result.successes);
    expect(count).toBeLessThanOrEqual(result.successes + result.failures.length);
    expect(await client.clientId()).not.toBe(firstId);
    await made.close();
  }, 90_000);

  it('its connection dropped under load, again and again: every reply answers its own command, and the client comes back ready', async () => {
    // node-redis alone can write the commands queued meanwhile to the socket that just closed and
    // then hand the next connection's replies to them (src/node-redis-write-guard.ts). Against the
    // local stack's standalone Redis the race does not show (the node-redis cluster test shows it,
    // and fails without the guard); here the guard must let every reconnect's handshake and the
    // queued commands through, and nothing may get another command's reply.
    const connector = secretConnector();
    const admin = secretConnector();
    await Promise.all([connector.connect(), admin.connect()]);
    const { client } = connector;
    const writers = startVerifyingWriters(client, 'node-redis:dropped');
    const { state } = writers;
    try {
      await until(() => state.verified >= 500, 20_000, 'writes before the first drop');
      for (let round = 0; round < 20; round += 1) {
        let id: number | undefined;
        // A connection can read ready an instant before its drop is processed: ask again then.
        for (let attempt = 0; id === undefined; attempt += 1) {
          id = await Promise.race([
            client.clientId().catch(() => undefined),
            new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
          ]);
          if (id === undefined && attempt >= 20) throw new Error(`no answer to CLIENT ID (round ${round})`);
          if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        await admin.client.sendCommand(['CLIENT', 'KILL', 'ID', String(id)]).catch(() => {});
        await until(() => client.isReady, 20_000, `the client back (round ${round})`);
      }
      const settled = state.verified;
      await until(() => state.verified >= settled + 500, 20_000, 'writes after the last drop');
    } finally {
      await writers.stop();
    }
    expectOnlyDroppedInFlightFailures(state, 'dropped connection');
  }, 120_000);

  it('close() does not wait on a server that stopped answering: the command still waiting is rejected (DisconnectsClientError)', async () => {
    const connector = secretConnector();
    const admin = secretConnector();
    await Promise.all([connector.connect(), admin.connect()]);
    // The server answers no client for 6 s (CLIENT PAUSE answers its own caller at once).
    await admin.client.sendCommand(['CLIENT', 'PAUSE', '6000', 'ALL']);
    let outcome: unknown = 'still waiting';
    const waiting = connector.client.get('node-redis:paused').then(
      (reply) => {
        outcome = reply;
      },
      (error: unknown) => {
        outcome = error;
      },
    );
    // Sent, and waiting for its reply.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(outcome).toBe('still waiting');
    await connector.close();
    await Promise.race([waiting, new Promise((resolve) => setTimeout(resolve, 200))]);
    expect(outcome).toMatchObject({ message: 'Disconnects client' });
    // The server answers again once the pause is over (the tests after this one need it).
    expect(await admin.client.ping()).toBe('PONG');
  }, 30_000);

  it('a refused login (the secret holds a wrong password) fails connect() with AuthenticationFailedError', async () => {
    test.stack.keyVault?.setSecret('redis-wrong-password', 'not-the-redis-password');
    const made = secretConnector('redis-wrong-password');
    // The test's timeout is the bound: connect() settles instead of retrying for ever.
    const failure = await made.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: 'AuthenticationFailedError', code: 'authentication-failed' });
    const text = `${(failure as Error).message} ${(failure as Error).stack} ${JSON.stringify(failure)}`;
    expect(text).toContain('keyless-app');
    expect(text).not.toContain('not-the-redis-password');
    expect(made.client.isOpen).toBe(false);
  }, 60_000);

  it('an Entra user without an access policy fails connect() with AuthenticationFailedError and the hint', async () => {
    const systemIdentity = test.stack.identity.systemAssigned;
    if (!systemIdentity) throw new Error('the stack has no system-assigned identity');
    const tokenProvider = createTokenProvider({ identity: 'system-assigned' });
    try {
      const made = entraConnector(tokenProvider, systemIdentity.objectId);
      const failure = await made.connect().then(
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
  }, 60_000);

  it('duplicates are connectors clients too, and nothing prints a token', async () => {
    const made = entraConnector();
    await made.connect();
    const other = made.client.duplicate();
    await other.connect();
    expect(await other.ping()).toBe('PONG');
    const { inspect } = await import('node:util');
    const text = [made, made.client, other]
      .flatMap((value) => [inspect(value, { depth: 8, showHidden: true }), JSON.stringify(value)])
      .join('\n');
    expect(redisTokens.some((entry) => text.includes(entry.token))).toBe(false);
    expect(text).toContain(test.stack.appIdentity.objectId);
    await made.close();
    expect(other.isOpen).toBe(false);
  });

  it('ready(): connects the first time, then answers from the client state; ClosedError after close()', async () => {
    const made = secretConnector();
    await expect(made.ready()).resolves.toBeUndefined();
    expect(made.client.isReady).toBe(true);
    // The steady state sends nothing: ten probes leave the server's command count where it was.
    const commandsBefore = await made.client.info('stats');
    for (let probe = 0; probe < 10; probe += 1) await made.ready();
    const processed = (info: string) => Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
    // The second INFO itself counts; ten probes that each sent a command would add ten more.
    expect(processed(await made.client.info('stats')) - processed(commandsBefore)).toBeLessThan(10);
    await made.close();
    await expect(made.ready()).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('node-redis options keyless refuses', () => {
  const base = {
    host: 'cache.redis.cache.windows.net',
    password: entraToken(),
    user: '00000000-0000-0000-0000-000000000001',
    tokenProvider: { getToken: async () => null } as unknown as TokenProvider,
  };
  const refused: [string, Record<string, unknown>, RegExp][] = [
    [
      'socket.rejectUnauthorized',
      { socket: { rejectUnauthorized: false } },
      /clientOptions\.socket\.rejectUnauthorized/,
    ],
    ['socket.host', { socket: { host: 'elsewhere.example' } }, /clientOptions\.socket\.host/],
    ['socket.tls', { socket: { tls: false } }, /clientOptions\.socket\.tls/],
    [
      'socket.checkServerIdentity',
      { socket: { checkServerIdentity: () => undefined } },
      /checkServerIdentity/,
    ],
    ['url', { url: 'rediss://user:pass@elsewhere.example:6380' }, /clientOptions\.url/],
    ['password', { password: 'x' }, /clientOptions\.password/],
    ['username', { username: 'x' }, /clientOptions\.username/],
    [
      'credentialsProvider',
      { credentialsProvider: { type: 'async-credentials-provider' } },
      /credentialsProvider/,
    ],
  ];
  for (const [name, clientOptions, message] of refused) {
    it(`refuses clientOptions.${name} with ConfigurationError`, () => {
      expect(() => createNodeRedisConnector({ ...base, clientOptions } as never)).toThrow(
        expect.objectContaining({ code: 'configuration', message: expect.stringMatching(message) }),
      );
    });
  }

  it('refuses plaintext to a remote host, and redisOptions (ioredis) given to the node-redis factory', () => {
    expect(() => createNodeRedisConnector({ ...base, tls: false })).toThrow(
      expect.objectContaining({ code: 'configuration' }),
    );
    expect(() => createNodeRedisConnector({ ...base, redisOptions: {} } as never)).toThrow(
      expect.objectContaining({ code: 'configuration', message: expect.stringMatching(/redisOptions/) }),
    );
  });

  it('passes timeouts and a reconnect strategy; the factory does no I/O', async () => {
    const made = createNodeRedisConnector({
      ...base,
      clientOptions: { socket: { connectTimeout: 1000, reconnectStrategy: () => 100 }, RESP: 3 },
    });
    expect(made.mode).toBe('entra-token');
    await made.close();
  });
});
