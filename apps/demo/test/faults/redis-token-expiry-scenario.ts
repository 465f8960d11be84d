import type { LocalAzure } from '@keyless/local-azure';
import type { RedisConnectorEvent } from '@keyless/redis';
import { Redis } from 'ioredis';
import { type FaultScenario, sleep } from './fault-scenario.ts';

/**
 * Azure Cache for Redis closes a connection whose Microsoft Entra token expires, unless the client
 * sent AUTH with a newer token first:
 * https://learn.microsoft.com/azure/azure-cache-for-redis/cache-azure-active-directory-for-authentication#best-practices-for-microsoft-entra-authentication
 * The local stack's Redis does the same in Entra mode and counts those drops (`counters.expiryDrops`).
 */
const lifetimeSeconds = 8;
const windowMs = 20_000;
const redisScope = 'https://redis.azure.com/.default';

export function redisTokenExpiry(): FaultScenario {
  return {
    name: 'Redis token-expiry drops',
    expectation: 'zero failures',
    description: `Redis in Entra mode (the identity's object id as the user, a token as the password) with ${lifetimeSeconds} s tokens for ${windowMs / 1000} s of load: the server closes a connection whose token expires unless it re-sent AUTH with a newer one, so each live connection must re-authenticate before every expiry. A control connection (plain ioredis, no re-AUTH) must be the only one dropped`,
    tokenLifetimeSeconds: lifetimeSeconds,
    tuning: (stack) => ({ redis: { entraUser: stack.appIdentity.objectId } }),
    async inject(context) {
      const redis = context.stack.redis;
      if (!redis) throw new Error('the fault suite needs Redis');
      for (const set of context.connectorSets) {
        if (set.redis.mode !== 'entra-token') throw new Error('the Redis connector is not in Entra mode');
      }
      const dropsBefore = redis.counters.expiryDrops;
      // The control: a plain ioredis connection that logs in with the same token and never re-AUTHs.
      // The server must drop it when that token expires, so the drop counter is shown to work in
      // this very run, and every other drop would be a keyless connection's.
      const [firstSet] = context.connectorSets;
      if (!firstSet) throw new Error('no connector set');
      const control = await openControlConnection(
        context.stack,
        (await firstSet.tokenProvider.getToken(redisScope)).token,
      );
      let accepted = 0;
      let reconnected = 0;
      let failed = 0;
      const stopListening = context.connectorSets.flatMap((set) => [
        set.redis.on('reauthenticated', (event: RedisConnectorEvent) => {
          accepted += event.connections ?? 0;
          reconnected += event.reconnected ?? 0;
        }),
        set.redis.on('reauthentication-failed', () => {
          failed += 1;
        }),
      ]);
      const since = Date.now();
      try {
        await sleep(windowMs);
      } finally {
        for (const stop of stopListening) stop();
        control.client.disconnect();
      }
      context.note('control connections dropped', control.closedByServer() ? 1 : 0);
      context.note('token lifetime (s)', lifetimeSeconds);
      context.note('token refreshes in the window', context.tokens.count('refreshed', since));
      context.note('redis re-AUTHs accepted', accepted);
      context.note('redis connections reconnected to re-authenticate', reconnected);
      context.note('redis re-AUTHs failed', failed);
      context.note('redis expiry drops (control included)', redis.counters.expiryDrops - dropsBefore);
    },
  };
}

/** An ioredis connection without keyless: logs in once, never re-AUTHs, never reconnects. */
async function openControlConnection(stack: LocalAzure, token: string) {
  const port = Number(stack.env.KEYLESS_REDIS_TLS_PORT);
  let closedByServer = false;
  let closing = false;
  const client = new Redis({
    host: stack.env.KEYLESS_REDIS_HOST,
    port,
    // Verified TLS against the local CA.
    tls: { ca: stack.ca.caCertificate },
    username: stack.appIdentity.objectId,
    password: token,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  // A dropped connection reports an error before it ends; the count is what matters.
  client.on('error', () => {});
  client.on('close', () => {
    if (!closing) closedByServer = true;
  });
  await client.connect();
  await client.ping();
  return {
    client: {
      disconnect() {
        closing = true;
        client.disconnect();
      },
    },
    closedByServer: () => closedByServer,
  };
}
