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

    await until(
      () => reauthenticated.some((event) => (event.reconnected ?? 0) >= 1),
      20_000,
      'a re-AUTH round that reconnected the blocked connection',
    );
    // Push right after a round that reconnected it, so the answer travels well before the next
    // round: a reconnect at the instant BLPOP's answer is in flight loses that answer (and the item
    // it popped), as any connection drop under a blocking pop does — the README says so and
    // recommends a finite timeout. That race is not what this test is about.
    const roundsSoFar = reauthenticated.length;
    await until(
      () => reauthenticated.slice(roundsSoFar).some((event) => (event.reconnected ?? 0) >= 1),
      20_000,
      'the next re-AUTH round that reconnected the blocked connection',
    );
    await made.client.rpush('reauthentication:queue', 'item');
    expect(await popped).toEqual(['reauthentication:queue', 'item']);
    // A bound above the 20 s wait for the re-AUTH round (vitest's 30 s default was hit under CI load).
  }, 60_000);

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
