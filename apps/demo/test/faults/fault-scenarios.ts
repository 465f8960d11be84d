import type { LocalAzure } from '@keyless/local-azure';
import type { RedisConnector } from '@keyless/redis';
import {
  type FaultContext,
  type FaultScenario,
  laneSucceededSince,
  sleep,
  waitUntil,
} from './fault-scenario.ts';
import { redisTokenExpiry } from './redis-token-expiry-scenario.ts';
import { postgresAbsent, sqlReconfiguration } from './server-absence-scenarios.ts';

/** How long a fault waits for its own effect to show (a login refused, a server back); a guard, not a speed bound. */
const patienceMs = 15_000;

/**
 * The refresh picture right after the warm-up: every token was obtained in the first moments of
 * the scenario, so they all fall due at about the same time.
 */
function refreshPicture(context: FaultContext) {
  const served = context.tokensAtFaultStart;
  const now = Date.now();
  return {
    served,
    now,
    /** The longest time from obtaining a token to its refresh point: one refresh cycle. */
    cycleMs: Math.max(...served.map((token) => token.refreshAt - token.obtainedAt)),
    lastRefreshAt: Math.max(...served.map((token) => token.refreshAt)),
    firstServingEnd: Math.min(...served.map((token) => token.servingUntil)),
  };
}

function identityOutage(): FaultScenario {
  return {
    name: 'identity endpoint down',
    expectation: 'zero failures',
    description:
      'every token request is reset, for one refresh cycle plus a second, covering every refresh point; cached tokens stay valid throughout',
    // Long enough that the backoff after an outage longer than a cycle still retries before the
    // tokens stop serving (20 s tokens: refreshed after 7.5 s, served for 15 s).
    tokenLifetimeSeconds: 20,
    async inject(context) {
      const picture = refreshPicture(context);
      const durationMs = Math.max(picture.cycleMs, picture.lastRefreshAt - picture.now) + 1_000;
      const refusedBefore = context.stack.identity.counters.refusedConnections;
      context.note('refresh cycle (ms)', picture.cycleMs);
      context.note('outage (ms)', durationMs);
      context.note('tokens served (backend × scope)', picture.served.length);
      context.note(
        'token validity left when the outage ends (ms)',
        picture.firstServingEnd - (picture.now + durationMs),
      );
      context.stack.identity.faults.outage({ durationMs });
      await sleep(durationMs);
      context.stack.identity.faults.clear();
      context.note(
        'token requests reset',
        context.stack.identity.counters.refusedConnections - refusedBefore,
      );
    },
    recovered: (context, faultEndedAt) =>
      context.tokens.everyTokenRenewedSince(context.tokensAtFaultStart, faultEndedAt),
  };
}

const throttleRetryAfterSeconds = 2;
/** Node may fire a timer a millisecond early. */
const timerSlackMs = 5;

function identityThrottled(): FaultScenario {
  return {
    name: 'identity endpoint 429 storm',
    expectation: 'zero failures',
    description: `every token request is answered 429 with Retry-After: ${throttleRetryAfterSeconds}, from before the refresh points until each token has been refused twice; the tokens are then in the last quarter of their serving time`,
    tokenLifetimeSeconds: 16,
    async inject(context) {
      const picture = refreshPicture(context);
      const stormMs = picture.lastRefreshAt - picture.now + 1.5 * throttleRetryAfterSeconds * 1000;
      const throttledBefore = context.stack.identity.counters.byStatus(429);
      context.note('storm (ms)', Math.round(stormMs));
      context.note(
        'token validity left when the storm ends (ms)',
        Math.round(picture.firstServingEnd - (picture.now + stormMs)),
      );
      context.note('tokens served (backend × scope)', picture.served.length);
      context.note('Retry-After (s)', throttleRetryAfterSeconds);
      context.stack.identity.faults.throttle({ retryAfterSeconds: throttleRetryAfterSeconds });
      await sleep(stormMs);
      context.stack.identity.faults.clear();
      const clearedAt = Date.now();
      context.note('429 answers', context.stack.identity.counters.byStatus(429) - throttledBefore);
      // A token asks first at its refresh point, then never sooner than Retry-After after a 429:
      // this many attempts fit before the storm ended. Ignoring Retry-After (plain backoff from
      // 0.5 s) would make about twice as many.
      context.note(
        'most 429s Retry-After allows',
        picture.served.reduce((sum, token) => {
          const window = clearedAt - (token.refreshAt - timerSlackMs);
          return window < 0 ? sum : sum + Math.floor(window / (throttleRetryAfterSeconds * 1000)) + 1;
        }, 0),
      );
      const shortest = Math.min(
        ...context.tokens.events
          .filter((event) => event.type === 'throttled')
          .map((event) => event.retryAfterMs ?? 0),
      );
      context.note('shortest wait after a 429 (ms)', Number.isFinite(shortest) ? shortest : 0);
    },
    recovered: (context, faultEndedAt) =>
      context.tokens.everyTokenRenewedSince(context.tokensAtFaultStart, faultEndedAt),
  };
}

const slowTokenMs = 2_500;

function identitySlow(): FaultScenario {
  return {
    name: 'identity endpoint slow',
    expectation: 'zero failures',
    description: `every token answer takes ${slowTokenMs / 1000} s, while every token falls due for refresh`,
    tokenLifetimeSeconds: 16,
    async inject(context) {
      const picture = refreshPicture(context);
      const slowSince = Date.now();
      context.stack.identity.faults.setLatency(slowTokenMs);
      context.note('token latency (ms)', slowTokenMs);
      await waitUntil(
        () => context.tokens.everyTokenRenewedSince(picture.served, slowSince),
        'every token refreshed through the slow endpoint',
        patienceMs + picture.lastRefreshAt - picture.now,
      );
      context.stack.identity.faults.setLatency(0);
      context.note(
        'slow refreshes',
        context.tokens.events.filter(
          (event) =>
            (event.type === 'refreshed' || event.type === 'acquired') &&
            event.at >= slowSince &&
            (event.latencyMs ?? 0) >= slowTokenMs,
        ).length,
      );
      context.note('tokens served (backend × scope)', picture.served.length);
    },
  };
}

const vaultFaultMs = 4_000;

function keyVaultUnavailable(): FaultScenario {
  return {
    name: 'Key Vault 503',
    expectation: 'zero failures',
    description: `every Key Vault request is answered 503 with Retry-After: 1 for ${vaultFaultMs / 1000} s, while the secret sources (the card's secret, the PostgreSQL password) refresh every second`,
    tokenLifetimeSeconds: 16,
    async inject(context) {
      const keyVault = requireKeyVault(context.stack);
      const failedBefore = keyVault.counters.byStatus(503);
      keyVault.faults.failWith(503, { retryAfterSeconds: 1 });
      await sleep(vaultFaultMs);
      keyVault.faults.clear();
      context.note('503 answers', keyVault.counters.byStatus(503) - failedBefore);
    },
  };
}

function postgresRestart(): FaultScenario {
  return {
    name: 'PostgreSQL restarted',
    // A new connection waits the restart out (connectRetryMs), as Azure's guidance for transient
    // PostgreSQL errors asks; a query already running on a session the restart ends may have run,
    // so the connector passes it on as `unavailable` rather than repeating it.
    expectation: 'typed errors in time',
    description:
      'the server is stopped and started on the same port under load (sessions end, logins are refused meanwhile)',
    tokenLifetimeSeconds: 16,
    async inject(context) {
      const postgres = context.stack.postgres;
      if (!postgres) throw new Error('the fault suite needs PostgreSQL');
      const startedAt = Date.now();
      await postgres.restart();
      context.note('restart (ms)', Date.now() - startedAt);
      const backAt = Date.now();
      await waitUntil(
        () => laneSucceededSince(context, 'postgres-query', backAt),
        'a PostgreSQL query after the restart',
        patienceMs,
      );
    },
  };
}

function redisRestart(): FaultScenario {
  return {
    name: 'Redis restarted',
    // The connector documents it: commands wait in ioredis's offline queue while it reconnects
    // (the demo allows 5 reconnect attempts per command), and those in flight are re-sent.
    expectation: 'zero failures',
    description:
      'redis-server is stopped and started on the same ports under load (the connection drops; ioredis reconnects and re-sends)',
    tokenLifetimeSeconds: 16,
    async inject(context) {
      const redis = context.stack.redis;
      if (!redis) throw new Error('the fault suite needs Redis');
      let reconnects = 0;
      const countReconnect = () => {
        reconnects += 1;
      };
      for (const set of context.connectorSets) set.redis.client.on('reconnecting', countReconnect);
      const startedAt = Date.now();
      try {
        await redis.restart();
        context.note('restart (ms)', Date.now() - startedAt);
        const backAt = Date.now();
        await waitUntil(
          () => laneSucceededSince(context, 'redis-incr', backAt),
          'a Redis INCR after the restart',
          patienceMs,
        );
      } finally {
        for (const set of context.connectorSets) set.redis.client.off('reconnecting', countReconnect);
      }
      context.note('redis reconnects', reconnects);
    },
  };
}

function passwordsRotated(): FaultScenario {
  return {
    name: 'passwords rotated',
    expectation: 'zero failures',
    description:
      "the PostgreSQL and Redis passwords change on the servers and as new Key Vault secret versions; the pool's sessions recycle and the Redis connection is dropped, so the next logins are refused and must re-read the secret",
    tokenLifetimeSeconds: 16,
    // The PostgreSQL password source's default refresh (5 min): the rotation is found by a refused
    // login, not by a refresh that happens to come first.
    tuning: { postgres: { passwordRefreshIntervalMs: 300_000 } },
    async inject(context) {
      const sets = context.connectorSets.length;
      const { connectorEvents } = context;
      const refusedBefore = connectorEvents.postgresPasswordRefused;
      const refreshedBefore = connectorEvents.redisPasswordRefreshed;
      await context.stack.rotatePostgresPassword();
      await context.stack.rotateRedisPassword();
      // Redis keeps authenticated connections after a rotation, as in Azure; a failover or a
      // network blip is what makes the app log in again. The demo's rotate action does the same.
      let dropped = 0;
      for (const set of context.connectorSets) if (await dropConnection(set.redis)) dropped += 1;
      context.note('redis connections dropped', dropped);
      await waitUntil(
        () =>
          connectorEvents.postgresPasswordRefused - refusedBefore >= sets &&
          connectorEvents.redisPasswordRefreshed - refreshedBefore >= sets,
        'every connector set to meet the new passwords',
        patienceMs,
      );
    },
  };
}

function tokensExpiring(): FaultScenario {
  const lifetimeSeconds = 4;
  const windowMs = 6_000;
  return {
    name: 'tokens expiring mid-load',
    expectation: 'zero failures',
    description: `tokens live ${lifetimeSeconds} s (served 3 s, refreshed every 1.5 s): about four generations of every token during ${windowMs / 1000} s of load, SQL connections logging in with each`,
    tokenLifetimeSeconds: lifetimeSeconds,
    async inject(context) {
      const since = Date.now();
      await sleep(windowMs);
      context.note('tokens served (backend × scope)', context.tokensAtFaultStart.length);
      context.note('refreshes in the window', context.tokens.count('refreshed', since));
    },
  };
}

export const faultScenarios: readonly FaultScenario[] = [
  identityOutage(),
  identityThrottled(),
  identitySlow(),
  keyVaultUnavailable(),
  postgresRestart(),
  redisRestart(),
  passwordsRotated(),
  tokensExpiring(),
  sqlReconfiguration(),
  postgresAbsent(),
  redisTokenExpiry(),
];

function requireKeyVault(stack: LocalAzure) {
  if (!stack.keyVault) throw new Error('the fault suite needs the Key Vault emulator');
  return stack.keyVault;
}

/** The demo's rotate action: the connection kills itself (CLIENT KILL … SKIPME no). */
async function dropConnection(redis: RedisConnector): Promise<boolean> {
  const client = redis.client;
  if (client.status !== 'ready') return false;
  const id = await client.client('ID');
  // The connection dies while answering; its reply never comes.
  await client.call('CLIENT', 'KILL', 'ID', String(id), 'SKIPME', 'no').catch(() => {});
  return true;
}
