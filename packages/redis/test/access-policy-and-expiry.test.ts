import { AuthorizationError, createTokenProvider, entraToken, type TokenProvider } from '@keyless/core';
import { Command, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisConnector, type RedisConnector, type RedisConnectorEvent } from '../src/index.ts';
import { connection, startTestStack, startWriters, type TestStack, until } from './support.ts';

const redisResources = new Set(['https://redis.azure.com', 'https://redis.azure.com/']);

/**
 * Against the local stack as docs/azure-setup.md sets Azure up: the app identity has the "Data
 * Contributor" access policy (no @dangerous command), and Redis closes a connection whose Entra
 * token expires without a newer AUTH, counting it — as Azure Cache for Redis does.
 */
describe('Entra mode under Data Contributor, with connections closed at token expiry', () => {
  let test: TestStack;
  let shortLived: TokenProvider;
  const connectors: RedisConnector[] = [];
  let redisTokens = 0;

  beforeAll(async () => {
    test = await startTestStack();
    test.stack.identity.onTokenIssued((event) => {
      if (redisResources.has(event.resource)) redisTokens += 1;
    });
    // 6-second tokens from the start (the process-wide token cache must never hold a 24-hour one):
    // short enough for several generations, long enough that a loaded CI machine still refreshes them.
    test.stack.identity.setTokenLifetime(6);
    shortLived = createTokenProvider({ identity: { clientId: test.stack.appIdentity.clientId } });
  });

  afterAll(async () => {
    for (const connector of connectors) await connector.close();
    await shortLived?.close();
    await test?.stop();
  });

  function connector(tokenProvider: Pick<TokenProvider, 'getToken'> = shortLived): RedisConnector {
    const made = createRedisConnector({
      ...connection(test.stack),
      password: entraToken(),
      user: test.stack.appIdentity.objectId,
      tokenProvider: tokenProvider as TokenProvider,
    });
    connectors.push(made);
    return made;
  }

  function expiryDrops(): number {
    const redis = test.stack.redis;
    if (!redis) throw new Error('the stack has no Redis');
    return redis.counters.expiryDrops;
  }

  async function reconnect(client: Redis): Promise<void> {
    client.disconnect(true);
    await until(() => client.status === 'ready', 10_000, 'the client to reconnect');
  }

  it('connects and reconnects without a ready-check warning, and maps NOPERM to AuthorizationError naming the policy', async () => {
    const warn = vi.spyOn(console, 'warn');
    try {
      const made = connector();
      await made.connect();
      const duplicate = made.duplicate();
      await duplicate.ping();
      for (let round = 0; round < 3; round += 1) {
        await reconnect(made.client);
        await reconnect(duplicate);
      }
      await made.client.set('access-policy:key', 'value');
      expect(await made.client.get('access-policy:key')).toBe('value');
      // ioredis prints "Skipping the ready check because INFO command fails" when INFO is refused.
      expect(
        warn.mock.calls.map((call) => String(call[0])).filter((text) => /ready check|INFO/.test(text)),
      ).toEqual([]);

      // INFO is @dangerous: Data Contributor refuses it, and the error says what to do.
      const refused = await made.client.info().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(AuthorizationError);
      const error = refused as AuthorizationError;
      expect(error.message).toContain('refused the command INFO');
      expect(error.message).toContain('NOPERM');
      expect(error.message).toContain(`user '${test.stack.appIdentity.objectId}'`);
      // 127.0.0.1 is neither product: both commands, each with its policy.
      expect(error.hint).toContain('"Data Contributor" allows every command but the @dangerous ones');
      expect(error.hint).toContain('az redis access-policy-assignment create');
      expect(error.hint).toContain(
        'az redisenterprise database access-policy-assignment create --cluster-name <cache> --resource-group <group> --database-name default',
      );
      // A pipeline's commands get it too; the application's own errors stay its own.
      const results = await made.client.pipeline().keys('*').incr('access-policy:key').exec();
      expect(results?.[0]?.[0]).toBeInstanceOf(AuthorizationError);
      expect(String(results?.[1]?.[0])).toMatch(/ERR value is not an integer/);
      await made.close();
    } finally {
      warn.mockRestore();
    }
  });

  // The bench's pipelined INCR profile showed a per-command wrapper as keyless's largest cost (README,
  // Performance): NOPERM is mapped where error replies land instead, so a command keeps what ioredis gave it.
  it("sends commands through ioredis's own path, and still maps a NOPERM inside MULTI to AuthorizationError", async () => {
    const made = connector();
    await made.connect();
    expect(Object.hasOwn(made.client, 'sendCommand')).toBe(false);
    const command = new Command('incr', ['access-policy:counter']);
    const reject = command.reject;
    const sent = made.client.sendCommand(command);
    expect(command.reject).toBe(reject);
    expect(await sent).toBeTypeOf('number');

    const transaction = await made.client
      .multi()
      .keys('*')
      .exec()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    // EXEC is aborted (EXECABORT) because a queued command was refused; that refusal is named.
    expect(String(transaction)).toMatch(/EXECABORT/);
    const previous = (transaction as { previousErrors?: unknown[] }).previousErrors;
    expect(previous?.[0]).toBeInstanceOf(AuthorizationError);
    await made.close();
  });

  it('closes no connection for an expired token under load: main clients, duplicates, RESP3 and RESP2 subscribers, a blocked reader', async () => {
    const dropsBefore = expiryDrops();
    const tokensBefore = redisTokens;
    const first = connector(shortLived);
    const second = connector(shortLived);
    await Promise.all([first.connect(), second.connect()]);
    const reauthenticated: RedisConnectorEvent[] = [];
    const failed: RedisConnectorEvent[] = [];
    for (const made of [first, second]) {
      made.on('reauthenticated', (event) => reauthenticated.push(event));
      made.on('reauthentication-failed', (event) => failed.push(event));
    }

    const subscribers = [
      first.duplicate(),
      first.duplicate({ protocol: 2 }),
      second.duplicate({ protocol: 2 }),
    ];
    const received = subscribers.map(() => [] as string[]);
    for (const [index, subscriber] of subscribers.entries()) {
      subscriber.on('error', () => {});
      subscriber.on('message', (_channel, message) => received[index]?.push(message));
      await subscriber.subscribe('expiry:news');
    }
    const writerClient = first.duplicate();
    const blocked = second.duplicate();
    for (const client of [first.client, second.client, writerClient, blocked]) client.on('error', () => {});
    await first.client.del('expiry:counter', 'expiry:second', 'expiry:queue');

    const writers = [
      startWriters(first.client, 'expiry:counter', 2),
      startWriters(writerClient, 'expiry:counter', 2),
      startWriters(second.client, 'expiry:second', 2),
    ];
    const popped: string[] = [];
    let running = true;
    // Blocked most of the time: its AUTH waits behind BLPOP. It stops at the item pushed last.
    const reader = (async () => {
      for (;;) {
        const item = await blocked.blpop('expiry:queue', 0);
        if (item?.[1] === 'last') return;
        if (item) popped.push(item[1]);
      }
    })();
    let pushed = 0;
    let published = 0;
    const producer = (async () => {
      while (running) {
        await first.client.rpush('expiry:queue', String(pushed));
        pushed += 1;
        await second.client.publish('expiry:news', String(published));
        published += 1;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    // At least three token generations after the first, each outliving its 6 s.
    await until(() => redisTokens - tokensBefore >= 4, 20_000, 'four token generations');
    await until(() => reauthenticated.length >= 6, 20_000, 'three re-AUTH rounds per connector');
    await new Promise((resolve) => setTimeout(resolve, 6500));
    running = false;
    await producer;
    await first.client.rpush('expiry:queue', 'last');
    await reader;
    const results = await Promise.all(writers.map((writer) => writer.stop()));

    expect(expiryDrops() - dropsBefore).toBe(0);
    expect(failed.map((event) => `${event.error?.name}: ${event.error?.message}`)).toEqual([]);
    for (const result of results) expect(result.failures).toEqual([]);
    const counted = Number(await first.client.get('expiry:counter'));
    expect(counted).toBe((results[0]?.successes ?? 0) + (results[1]?.successes ?? 0));
    expect(popped).toEqual(Array.from({ length: pushed }, (_, index) => String(index)));
    // Every subscriber is still subscribed (RESP2 ones resubscribed after their planned reconnects).
    await until(
      () => {
        void first.client.publish('expiry:news', 'final');
        return received.every((messages) => messages.includes('final'));
      },
      10_000,
      'a message after the load on every subscriber',
    );
    // The RESP3 subscriber took AUTH and never reconnected: it missed nothing.
    expect(received[0]?.filter((message) => message !== 'final')).toEqual(
      Array.from({ length: published }, (_, index) => String(index)),
    );
    expect(reauthenticated.some((event) => (event.reconnected ?? 0) > 0)).toBe(true);
  }, 60_000);

  it('the counter is real: a connection whose token is never renewed is closed at expiry', async () => {
    // A provider that hands out its first 6-second token forever: nothing newer to AUTH with.
    const stale = shortLived.getToken('https://redis.azure.com/.default');
    const made = connector({ getToken: () => stale });
    const dropsBefore = expiryDrops();
    await made.connect();
    made.client.on('error', () => {});
    await until(() => expiryDrops() > dropsBefore, 15_000, 'the stale connection to be closed');
    expect(expiryDrops() - dropsBefore).toBe(1);
    await made.close();
  });
});
