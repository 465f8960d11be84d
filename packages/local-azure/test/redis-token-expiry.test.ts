import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdentityEndpoint,
  type RedisInstance,
  startIdentityEndpoint,
  startRedis,
} from '../src/index.js';
import { type FetchedToken, fetchToken, waitUntilExpired } from './support/identity-tokens.js';
import { createTestCertificateAuthority } from './support/local-certificates.js';
import { authenticate, connectAs, openUnauthenticated } from './support/redis-clients.js';

// Tokens live 3 s or more: a TLS connect and HELLO can take over a second on a busy CI machine.
// "After a connection is established by using a Microsoft Entra token, client applications must
// periodically refresh the Microsoft Entra token before expiry. Then the apps must send an AUTH
// command to the Redis server to avoid disrupting connections."
// (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-azure-active-directory-for-authentication)
// Every client here is real ioredis (or a raw socket for inline commands) through the gateway.

const redisResource = 'https://redis.azure.com';
let authority: Awaited<ReturnType<typeof createTestCertificateAuthority>>;
let identity: IdentityEndpoint;
let instance: RedisInstance;
let objectId: string;
let clientId: string;

beforeAll(async () => {
  authority = await createTestCertificateAuthority();
  identity = await startIdentityEndpoint();
  const app = identity.userAssigned[0];
  if (!app) throw new Error('the endpoint has no user-assigned identity');
  ({ objectId, clientId } = app);
  instance = await startRedis({
    identity,
    tls: {
      certPath: authority.serverCertificatePath,
      keyPath: authority.serverKeyPath,
      caPath: authority.caCertificatePath,
    },
    users: [{ name: 'app', password: 'app-password' }],
    entraUsers: [{ objectId }],
  });
});

afterAll(async () => {
  await instance?.stop();
  await identity?.stop();
  authority?.remove();
});

/** A token that expires within `seconds` (whole seconds, as `exp` is). */
async function tokenFor(seconds: number): Promise<FetchedToken> {
  identity.setTokenLifetime(seconds);
  try {
    return await fetchToken(identity, redisResource, { clientId });
  } finally {
    identity.setTokenLifetime(86_400);
  }
}

function closed(client: Redis): Promise<void> {
  if (client.status === 'end') return Promise.resolve();
  return new Promise((resolve) => client.once('end', () => resolve()));
}

function tlsOptions() {
  return { tls: { ca: authority.caCertificate } };
}

describe('a connection authenticated with a token', () => {
  it.each([
    ['TLS port, RESP3 (HELLO 3 AUTH)', 3, true],
    ['plain port, RESP2 (AUTH)', 2, false],
  ] as const)('is closed when the token expires without a new AUTH (%s)', async (_name, protocol, tls) => {
    const drops = instance.counters.expiryDrops;
    const token = await tokenFor(3);
    const port = tls ? (instance.tlsPort ?? 0) : instance.port;
    const client = await connectAs(port, objectId, token.token, {
      protocol,
      ...(tls ? tlsOptions() : {}),
    });
    try {
      expect(await client.ping()).toBe('PONG');
      await closed(client);
      expect(instance.counters.expiryDrops).toBe(drops + 1);
    } finally {
      client.disconnect();
    }
  });

  it('stays open past the expiry when it re-authenticated with a newer token, then closes at the newer one’s', async () => {
    const drops = instance.counters.expiryDrops;
    const first = await tokenFor(3);
    const second = await tokenFor(6);
    const client = await connectAs(instance.tlsPort ?? 0, objectId, first.token, tlsOptions());
    try {
      expect(await client.auth(objectId, second.token)).toBe('OK');
      await waitUntilExpired(first);
      expect(await client.incr('token-expiry:counter')).toBeGreaterThan(0);
      await closed(client);
      await waitUntilExpired(second); // the close was the second token's expiry, not the first's
      expect(instance.counters.expiryDrops).toBe(drops + 1);
    } finally {
      client.disconnect();
    }
  });

  it('is still closed at the first expiry when the re-AUTH was refused (a wrong token)', async () => {
    const first = await tokenFor(3);
    const storageToken = (await fetchToken(identity, 'https://storage.azure.com', { clientId })).token;
    const client = await connectAs(instance.port, objectId, first.token, { protocol: 2 });
    try {
      expect(await authenticate(client, objectId, storageToken)).toBe('WRONGPASS');
      await closed(client);
    } finally {
      client.disconnect();
    }
  });

  it('counts an AUTH pipelined between other commands', async () => {
    const first = await tokenFor(3);
    const second = await tokenFor(6);
    const client = await connectAs(instance.port, objectId, first.token, { protocol: 2 });
    try {
      const results = await client
        .pipeline()
        .set('token-expiry:pipelined', 'x')
        .auth(objectId, second.token)
        .get('token-expiry:pipelined')
        .exec();
      expect(results?.map(([error, value]) => [error, value])).toEqual([
        [null, 'OK'],
        [null, 'OK'],
        [null, 'x'],
      ]);
      await waitUntilExpired(first);
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('counts an AUTH that EXEC ran inside MULTI, not one that DISCARD dropped', async () => {
    const first = await tokenFor(5);
    const second = await tokenFor(8);
    const executed = await connectAs(instance.port, objectId, first.token, { protocol: 2 });
    const discarded = await connectAs(instance.port, objectId, first.token, { protocol: 2 });
    try {
      const results = await executed.multi().auth(objectId, second.token).ping().exec();
      expect(results).toEqual([
        [null, 'OK'],
        [null, 'PONG'],
      ]);
      expect(await discarded.call('MULTI')).toBe('OK');
      expect(await discarded.call('AUTH', objectId, second.token)).toBe('QUEUED');
      expect(await discarded.call('DISCARD')).toBe('OK');
      await closed(discarded);
      expect(await executed.ping()).toBe('PONG');
    } finally {
      executed.disconnect();
      discarded.disconnect();
    }
  });

  it('RESP3 pub/sub: a subscriber re-authenticates and keeps receiving past the first expiry', async () => {
    const first = await tokenFor(3);
    const second = await tokenFor(6);
    const subscriber = await connectAs(instance.port, objectId, first.token, { protocol: 3 });
    const publisher = await connectAs(instance.port, 'app', 'app-password');
    try {
      const received: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => received.push(message));
      await subscriber.subscribe('token-expiry:channel');
      expect(await subscriber.auth(objectId, second.token)).toBe('OK');
      await waitUntilExpired(first);
      expect(await publisher.publish('token-expiry:channel', 'after the first expiry')).toBe(1);
      await expect.poll(() => received).toEqual(['after the first expiry']);
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });

  it('RESP2 pub/sub: Redis refuses AUTH in subscriber mode, so the subscriber is closed at expiry', async () => {
    const first = await tokenFor(3);
    const second = await tokenFor(6);
    // A raw socket: ioredis itself refuses to send AUTH on a RESP2 subscriber connection.
    const socket = connectTcp({ host: '127.0.0.1', port: instance.port });
    await once(socket, 'connect');
    try {
      let answer = '';
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
      });
      const gone = once(socket, 'close');
      socket.write(
        `AUTH ${objectId} ${first.token}\r\nSUBSCRIBE token-expiry:resp2\r\nAUTH ${objectId} ${second.token}\r\n`,
      );
      await expect
        .poll(() => answer)
        .toMatch(/\+OK\r\n\*3\r\n\$9\r\nsubscribe\r\n.*\r\n:1\r\n-ERR Can't execute 'auth'/s);
      await gone;
    } finally {
      socket.destroy();
    }
  });

  it('counts an inline AUTH too (a raw socket)', async () => {
    const first = await tokenFor(3);
    const second = await tokenFor(6);
    const socket = connectTcp({ host: '127.0.0.1', port: instance.port });
    await once(socket, 'connect');
    try {
      let answer = '';
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
      });
      socket.write(`AUTH ${objectId} ${first.token}\r\nAUTH ${objectId} ${second.token}\r\nPING\r\n`);
      await expect.poll(() => answer).toBe('+OK\r\n+OK\r\n+PONG\r\n');
      await waitUntilExpired(first);
      socket.write('PING\r\n');
      await expect.poll(() => answer).toBe('+OK\r\n+OK\r\n+PONG\r\n+PONG\r\n');
    } finally {
      socket.destroy();
    }
  });

  it('RESET ends the token’s hold: the connection is no longer authenticated, and not closed at expiry', async () => {
    const drops = instance.counters.expiryDrops;
    const token = await tokenFor(3);
    const client = await openUnauthenticated(instance.port);
    try {
      expect(await authenticate(client, objectId, token.token)).toBe('OK');
      expect(await client.call('RESET')).toBe('RESET');
      await waitUntilExpired(token);
      expect(await client.ping().catch((error: Error) => error.message.split(' ')[0])).toBe('NOAUTH');
      expect(instance.counters.expiryDrops).toBe(drops);
    } finally {
      client.disconnect();
    }
  });
});

describe('connections that never used a token', () => {
  it('a password user is never closed by the gateway', async () => {
    const drops = instance.counters.expiryDrops;
    const token = await tokenFor(3);
    const client = await connectAs(instance.tlsPort ?? 0, 'app', 'app-password', tlsOptions());
    try {
      await waitUntilExpired(token);
      expect(await client.ping()).toBe('PONG');
      expect(instance.counters.expiryDrops).toBe(drops);
    } finally {
      client.disconnect();
    }
  });
});

describe("expiredTokenConnections: 'keep'", () => {
  it('leaves Redis alone: a connection outlives its token, as redis-server itself allows', async () => {
    const keeping = await startRedis({
      identity,
      entraUsers: [{ objectId }],
      expiredTokenConnections: 'keep',
    });
    try {
      const token = await tokenFor(3);
      const client = await connectAs(keeping.port, objectId, token.token);
      try {
        await waitUntilExpired(token);
        expect(await client.ping()).toBe('PONG');
        expect(keeping.counters.expiryDrops).toBe(0);
      } finally {
        client.disconnect();
      }
    } finally {
      await keeping.stop();
    }
  });

  it('refuses an unknown value', async () => {
    await expect(startRedis({ identity, expiredTokenConnections: 'drop' as 'close' })).rejects.toThrow(
      /expiredTokenConnections/,
    );
  });
});
