import {
  AuthenticationFailedError,
  createTokenProvider,
  entraToken,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnector, type RedisConnectorEvent } from '../src/index.ts';
import { connection, startTestStack, type TestStack, until } from './support.ts';

const redisResources = new Set(['https://redis.azure.com', 'https://redis.azure.com/']);

/**
 * Entra re-AUTH beyond the happy path, with 4-second tokens (the identity endpoint mints them; the
 * provider's cache refreshes them at about half their life): connections that cannot send AUTH,
 * and re-AUTHs that fail.
 */
describe('Entra re-AUTH: subscribers over RESP2, blocked connections, failures', () => {
  let test: TestStack;
  let shortLived: TokenProvider;
  const connectors: RedisConnector[] = [];
  /** Every Redis token minted, to prove none reaches an event or error; never printed. */
  const redisTokens: string[] = [];

  beforeAll(async () => {
    test = await startTestStack();
    test.stack.identity.onTokenIssued((event) => {
      if (redisResources.has(event.resource)) redisTokens.push(event.token);
    });
    test.stack.identity.setTokenLifetime(4);
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

  function record(made: RedisConnector, name: 'reauthenticated' | 'reauthentication-failed') {
    const events: RedisConnectorEvent[] = [];
    made.on(name, (event) => events.push(event));
    return events;
  }

  function printed(value: unknown): string {
    const error = value as Error;
    return `${error.message}\n${error.stack}\n${JSON.stringify(value)}\n${String((error.cause as Error)?.message)}`;
  }

  it('reconnects a RESP2 subscriber (it cannot send AUTH) before its token expires; it keeps receiving', async () => {
    const made = connector();
    await made.connect();
    const reauthenticated = record(made, 'reauthenticated');
    const subscriber = made.duplicate({ protocol: 2 });
    subscriber.on('error', () => {});
    const received: string[] = [];
    subscriber.on('message', (_channel, message) => received.push(message));
    await subscriber.subscribe('reauthentication:resp2');

    await until(
      () => reauthenticated.filter((event) => event.reconnected === 1).length >= 2,
      20_000,
      'two re-AUTH rounds that reconnected the RESP2 subscriber',
    );
    // The main connection took the token with AUTH; the subscriber was reconnected instead.
    expect(reauthenticated.every((event) => event.connections === 1)).toBe(true);
    await until(() => subscriber.status === 'ready', 10_000, 'the subscriber to be ready');
    // Resubscribed by ioredis: a message published now arrives.
    await until(
      () => {
        void made.client.publish('reauthentication:resp2', 'after');
        return received.includes('after');
      },
      10_000,
      'a message after the reconnects',
    );
  });

  it('reconnects a connection whose AUTH waits behind BLPOP 0; ioredis re-sends the BLPOP', async () => {
    const made = connector();
    await made.connect();
    const reauthenticated = record(made, 'reauthenticated');
    const blocked = made.duplicate();
    blocked.on('error', () => {});
    await blocked.ping();
    await made.client.del('reauthentication:queue');
    const popped = blocked.blpop('reauthentication:queue', 0);

    const reconnectingRounds = () => reauthenticated.filter((event) => (event.reconnected ?? 0) >= 1).length;
    await until(
      () => reconnectingRounds() >= 2,
      40_000,
      'two re-AUTH rounds that reconnected the blocked connection',
    );
    // Push right after a round that reconnected it, so the answer usually travels well before the
    // next round. Under CI load the next round's reconnect can still meet the pop's answer in
    // flight: that answer is lost with the connection, and so is the item (as with any connection
    // drop under a blocking pop; the README says so and recommends a finite timeout). That race is
    // not what this test is about, so a push the race swallowed (a reconnecting round came after it
    // and nothing was popped) is followed by another; the blocked BLPOP, re-sent each time, must
    // still pop one of them.
    let answer: string[] | null | undefined;
    let failure: unknown;
    popped.then(
      (value) => {
        answer = value;
      },
      (error: unknown) => {
        failure = error;
      },
    );
    const pushed: string[] = [];
    for (let attempt = 1; attempt <= 3 && answer === undefined && failure === undefined; attempt += 1) {
      const roundsAtPush = reconnectingRounds();
      pushed.push(`item-${attempt}`);
      await made.client.rpush('reauthentication:queue', `item-${attempt}`);
      await until(
        () => answer !== undefined || failure !== undefined || reconnectingRounds() > roundsAtPush,
        20_000,
        'the pop, or a re-AUTH round that reconnected the blocked connection before it',
      );
    }
    await until(
      () => answer !== undefined || failure !== undefined,
      20_000,
      'the re-sent BLPOP to pop an item',
    );
    expect(failure).toBeUndefined();
    expect(answer?.[0]).toBe('reauthentication:queue');
    expect(pushed).toContain(answer?.[1]);
    // A bound above the waits for the re-AUTH rounds (vitest's 30 s default was hit under CI load).
  }, 120_000);

  it('surfaces a refused re-AUTH: reauthentication-failed with AuthenticationFailedError, and the client error', async () => {
    // The second token is a real one, for another identity: the cache refuses it for this user.
    const systemAssigned = createTokenProvider({ identity: 'system-assigned' });
    let calls = 0;
    const made = connector({
      getToken: (scope: string | string[]) =>
        calls++ === 0 ? shortLived.getToken(scope) : systemAssigned.getToken(scope),
    });
    try {
      const clientErrors: unknown[] = [];
      made.client.on('error', (error) => clientErrors.push(error));
      await made.connect();
      const failed = record(made, 'reauthentication-failed');

      await until(() => failed.length >= 1, 15_000, 'the refused re-AUTH to be reported');
      const [event] = failed;
      expect(event?.error).toBeInstanceOf(AuthenticationFailedError);
      expect(event?.error?.message).toContain(
        `refused the Entra token for user '${test.stack.appIdentity.objectId}'`,
      );
      expect(event?.error?.hint).toContain('az redis access-policy-assignment create');
      expect(clientErrors.some((error) => error === event?.error)).toBe(true);
      const text = [printed(event?.error), JSON.stringify(event)].join('\n');
      expect(redisTokens.some((token) => text.includes(token))).toBe(false);
      // Redis keeps a connection's login when an AUTH fails: it works until its token expires.
      expect(await made.client.ping()).toBe('PONG');
    } finally {
      await made.close();
      await systemAssigned.close();
    }
  });

  it('surfaces a renewal that cannot get a token: reauthentication-failed with the provider error', async () => {
    let calls = 0;
    const made = connector({
      getToken: (scope: string | string[]) =>
        calls++ === 0
          ? shortLived.getToken(scope)
          : Promise.reject(new ServiceUnavailableError('the identity endpoint is down (test)')),
    });
    await made.connect();
    const failed = record(made, 'reauthentication-failed');
    await until(() => failed.length >= 1, 15_000, 'the failed renewal to be reported');
    expect(failed[0]?.error).toBeInstanceOf(ServiceUnavailableError);
    expect(failed[0]?.error?.message).toContain('the identity endpoint is down (test)');
    await made.close();
  });
});
