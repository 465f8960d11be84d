import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdentityEndpoint,
  type RedisInstance,
  startIdentityEndpoint,
  startRedis,
} from '../src/index.js';
import { fetchToken, waitUntilExpired } from './support/identity-tokens.js';
import { authenticate, connectAs, openUnauthenticated, tryAuth, userOf } from './support/redis-clients.js';

const redisResource = 'https://redis.azure.com';

describe('Redis Entra mode', () => {
  let identity: IdentityEndpoint;
  let instance: RedisInstance;
  let objectId: string;
  let clientId: string;

  beforeAll(async () => {
    identity = await startIdentityEndpoint();
    const app = identity.userAssigned[0];
    if (!app) throw new Error('the endpoint has no user-assigned identity');
    objectId = app.objectId;
    clientId = app.clientId;
    instance = await startRedis({ identity, entraUsers: [{ objectId }] });
  });

  afterAll(async () => {
    await instance?.stop();
    await identity?.stop();
  });

  it('accepts a fresh token as the password of the ACL user named by the object id', async () => {
    const { token } = await fetchToken(identity, redisResource, { clientId });
    const client = await connectAs(instance.port, objectId, token);
    try {
      expect(await userOf(client)).toBe(objectId);
      expect(await client.set('entra', 'works')).toBe('OK');
    } finally {
      client.disconnect();
    }
  });

  it('accepts the audience with a trailing slash too', async () => {
    const { token } = await fetchToken(identity, `${redisResource}/`, { clientId });
    expect(await tryAuth(instance.port, objectId, token)).toBe('OK');
  });

  it('refuses a token for another resource, or another identity, with WRONGPASS', async () => {
    const storage = await fetchToken(identity, 'https://storage.azure.com', { clientId });
    expect(await tryAuth(instance.port, objectId, storage.token)).toBe('WRONGPASS');
    const systemAssigned = await fetchToken(identity, redisResource);
    expect(await tryAuth(instance.port, objectId, systemAssigned.token)).toBe('WRONGPASS');
    const systemObjectId = identity.systemAssigned?.objectId ?? '';
    expect(await tryAuth(instance.port, systemObjectId, systemAssigned.token)).toBe('WRONGPASS');
  });

  it('accepts every token generation while it is valid and refuses each once it expires', async () => {
    // Lifetimes one second apart: each generation expires after the one before it.
    identity.setTokenLifetime(2);
    const first = await fetchToken(identity, redisResource, { clientId });
    identity.setTokenLifetime(3);
    const second = await fetchToken(identity, redisResource, { clientId });
    identity.setTokenLifetime(4);
    const third = await fetchToken(identity, redisResource, { clientId });
    identity.setTokenLifetime(86_400);
    expect(first.expiresOnSeconds).toBeLessThan(second.expiresOnSeconds);
    expect(second.expiresOnSeconds).toBeLessThan(third.expiresOnSeconds);

    const held = await openUnauthenticated(instance.port);
    try {
      for (const generation of [first, second, third]) {
        expect(await tryAuth(instance.port, objectId, generation.token)).toBe('OK');
      }
      expect(await authenticate(held, objectId, first.token)).toBe('OK');
      // A live connection re-authenticates with a newer token before the old one expires, as the
      // keyless connector does; Azure would close it otherwise (redis-token-expiry.test.ts).
      expect(await authenticate(held, objectId, third.token)).toBe('OK');

      await waitUntilExpired(first);
      expect(await tryAuth(instance.port, objectId, first.token)).toBe('WRONGPASS');
      expect(await tryAuth(instance.port, objectId, second.token)).toBe('OK');
      expect(await held.ping()).toBe('PONG');

      await waitUntilExpired(second);
      expect(await tryAuth(instance.port, objectId, second.token)).toBe('WRONGPASS');
      expect(await tryAuth(instance.port, objectId, third.token)).toBe('OK');

      await waitUntilExpired(third);
      expect(await tryAuth(instance.port, objectId, third.token)).toBe('WRONGPASS');
    } finally {
      held.disconnect();
    }
  });

  it('keeps valid tokens and drops expired ones across a restart', async () => {
    identity.setTokenLifetime(1);
    const shortLived = await fetchToken(identity, redisResource, { clientId });
    identity.setTokenLifetime(86_400);
    const longLived = await fetchToken(identity, redisResource, { clientId });

    await instance.restart();

    expect(await tryAuth(instance.port, objectId, longLived.token)).toBe('OK');
    await waitUntilExpired(shortLived);
    expect(await tryAuth(instance.port, objectId, shortLived.token)).toBe('WRONGPASS');
  });
});
