import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type SqlEndpoint, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SqlConnector } from '../src/index.js';
import { type LoginTimeoutKind, LoginTimeouts } from '../src/login-timeouts.js';
import { createSqlConnectorWithInternals } from '../src/testing.js';

/**
 * A login has two bounds of connectTimeoutMs each: the server's part (TCP, PRELOGIN, TLS, LOGIN7
 * and the answers) and the wait for the token. tedious's single connectTimeout counted both
 * together, so a slow first token — a cold process loading its backend library under load, IMDS
 * answering its first request slowly — made a reachable server's login time out.
 */

describe('LoginTimeouts (fake clock)', () => {
  const limitMs = 1_000;
  let expired: LoginTimeoutKind[];
  let timeouts: LoginTimeouts;

  beforeAll(() => {
    vi.useFakeTimers();
  });
  afterAll(() => {
    vi.useRealTimers();
  });
  afterEach(() => timeouts.stop());

  const start = () => {
    expired = [];
    timeouts = new LoginTimeouts(
      limitMs,
      (kind) => expired.push(kind),
      () => Date.now(),
    );
    timeouts.start();
  };

  it('does not count the token wait against the server', () => {
    start();
    vi.advanceTimersByTime(600);
    timeouts.tokenWaitBegins();
    vi.advanceTimersByTime(900);
    timeouts.tokenWaitEnds();
    vi.advanceTimersByTime(399);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['server']);
    expect(timeouts.expired).toBe('server');
  });

  it('bounds the token wait on its own', () => {
    start();
    vi.advanceTimersByTime(900);
    timeouts.tokenWaitBegins();
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['token']);
    // A token that arrives after the bound changes nothing.
    timeouts.tokenWaitEnds();
    vi.advanceTimersByTime(5_000);
    expect(expired).toEqual(['token']);
  });

  it('gives the node a full bound after a redirect, as tedious restarts its own timer', () => {
    start();
    vi.advanceTimersByTime(800);
    timeouts.rerouted();
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['server']);
  });

  it('sets tedious backstop above both bounds together', () => {
    expect(LoginTimeouts.backstopMs(limitMs)).toBeGreaterThan(2 * limitMs);
  });
});

/**
 * A TCP relay to the SQL endpoint that holds back the server's first answer (PRELOGIN) for a while,
 * like a slow network path; `onRelease` runs just before it is passed on. Everything after it
 * flows in order.
 */
async function startDelayingRelay(
  target: { host: string; port: number },
  holdMs: number,
  onRelease: () => void,
) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let forward = new Promise<void>((resolve) =>
      setTimeout(() => {
        onRelease();
        resolve();
      }, holdMs),
    );
    upstream.on('data', (chunk: Buffer) => {
      forward = forward.then(() => {
        if (!client.destroyed) client.write(chunk);
      });
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', () => void forward.then(end));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a login against the local stack', () => {
  let stack: LocalAzure;
  let sql: SqlEndpoint;
  let restoreEnvironment: () => void;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
    sql = stack.sql as SqlEndpoint;
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    restoreEnvironment?.();
    await stack?.stop();
  });

  const newProvider = (clientId = stack.appIdentity.clientId) => {
    const provider = createTokenProvider({ identity: { clientId } });
    cleanups.push(() => provider.close());
    return provider;
  };

  /**
   * An identity of its own, with a database user: the token cache is shared by the whole process,
   * so only an identity no earlier test asked for makes the identity endpoint count this test's request.
   */
  const newIdentity = () => {
    const identity = {
      name: `login-timeouts-${randomUUID()}`,
      clientId: randomUUID(),
      objectId: randomUUID(),
    };
    stack.identity.addUserAssignedIdentity(identity);
    sql.addPrincipal({ name: identity.name, objectId: identity.objectId });
    return identity;
  };

  const newConnector = (
    port: number,
    tokenProvider: TokenProvider,
    connectTimeoutMs: number,
  ): SqlConnector => {
    const created = createSqlConnectorWithInternals(
      { server: '127.0.0.1', port, database: sql.database, tokenProvider, connectTimeoutMs },
      {},
    );
    cleanups.push(() => created.close());
    return created;
  };

  it('is not timed out by a slow token when the server and the token each answer within connectTimeoutMs', async () => {
    // The server's part takes 2.5 s (its first answer is held back), the token 3 s: each within the
    // 4.5 s bound, together over it — what one shared timer refused as "No token … within
    // connectTimeoutMs". A custom credential, so the token is asked when tedious asks, not earlier.
    const relay = await startDelayingRelay({ host: '127.0.0.1', port: sql.port }, 2_500, () => {});
    cleanups.push(relay.stop);
    const provider = newProvider();
    const slowToken = {
      getToken: async (...parameters: Parameters<TokenProvider['getToken']>) => {
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        return provider.getToken(...parameters);
      },
    } as unknown as TokenProvider;
    const sqlConnector = newConnector(relay.port, slowToken, 4_500);
    expect(await sqlConnector.query('SELECT SUSER_SNAME() AS name')).toEqual([
      { name: stack.appIdentity.name },
    ]);
  }, 60_000);

  it('asks a keyless provider for the token while the server handshake is under way, in one request', async () => {
    const identity = newIdentity();
    const requestsBefore = stack.identity.counters.tokenRequests;
    let requestsWhenTheServerAnswered: number | undefined;
    // Held back 2.5 s: the early token request reaches the identity endpoint long before that.
    const relay = await startDelayingRelay({ host: '127.0.0.1', port: sql.port }, 2_500, () => {
      requestsWhenTheServerAnswered ??= stack.identity.counters.tokenRequests - requestsBefore;
    });
    cleanups.push(relay.stop);
    const sqlConnector = newConnector(relay.port, newProvider(identity.clientId), 20_000);
    expect(await sqlConnector.query('SELECT SUSER_SNAME() AS name')).toEqual([{ name: identity.name }]);
    expect(requestsWhenTheServerAnswered).toBe(1);
    // tedious's own request for the token joined the early one: one request for the whole login.
    expect(stack.identity.counters.tokenRequests - requestsBefore).toBe(1);
  }, 60_000);

  it('asks a custom credential only when tedious asks (it may not cache)', async () => {
    const identity = newIdentity();
    const requestsBefore = stack.identity.counters.tokenRequests;
    let requestsWhenTheServerAnswered: number | undefined;
    const relay = await startDelayingRelay({ host: '127.0.0.1', port: sql.port }, 1_000, () => {
      requestsWhenTheServerAnswered ??= stack.identity.counters.tokenRequests - requestsBefore;
    });
    cleanups.push(relay.stop);
    const provider = newProvider(identity.clientId);
    const custom = {
      getToken: (...parameters: Parameters<TokenProvider['getToken']>) => provider.getToken(...parameters),
    };
    const sqlConnector = newConnector(relay.port, custom as unknown as TokenProvider, 20_000);
    expect(await sqlConnector.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(requestsWhenTheServerAnswered).toBe(0);
    expect(stack.identity.counters.tokenRequests - requestsBefore).toBe(1);
  }, 60_000);
});
