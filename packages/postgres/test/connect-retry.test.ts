import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { entraToken, ServiceUnavailableError } from '@keyless/core';
import { findFreePort } from '@keyless/local-azure';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConnectRetryEvent, PostgresConnector, PostgresConnectorOptions } from '../src/index.js';
import { useSecretModeStack } from './support/secret-mode-stack.js';

/**
 * A server that is down and comes back (restart, failover) is modelled by a port nothing listens
 * on until a plain TCP relay to the real PostgreSQL starts there: deterministic, and TLS still runs
 * end to end between pg and the server.
 */
describe('@keyless/postgres connect retry (restart, failover)', () => {
  const fixture = useSecretModeStack();
  const relays: Server[] = [];
  const relayedSockets = new Set<Socket>();
  const connect = (port: number, options: Partial<PostgresConnectorOptions> = {}) =>
    fixture.connect({ port, ...options });

  const startRelay = async (port: number) => {
    const relay = createServer((incoming) => {
      const outgoing = tcpConnect(Number(fixture.stack.env.KEYLESS_POSTGRES_PORT), '127.0.0.1');
      for (const socket of [incoming, outgoing]) {
        relayedSockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => relayedSockets.delete(socket));
      }
      incoming.pipe(outgoing).pipe(incoming);
    });
    await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
    relays.push(relay);
  };

  const retriesOf = (connector: PostgresConnector) => {
    const events: ConnectRetryEvent[] = [];
    connector.on('connect-retry', (event) => events.push(event));
    return events;
  };

  afterEach(() => {
    for (const relay of relays.splice(0)) relay.close();
    for (const socket of relayedSockets) socket.destroy();
  });

  it('waits out a server that refuses connections, then answers the query', async () => {
    const port = await findFreePort();
    const connector = connect(port);
    const retries = retriesOf(connector);
    const query = connector.query<{ one: number }>('SELECT 1 AS one');
    setTimeout(() => void startRelay(port), 400);
    const result = await query;
    expect(result.rows).toEqual([{ one: 1 }]);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.map((event) => event.attempt)).toEqual(retries.map((_, index) => index + 1));
    for (const event of retries) {
      expect(event.error).toBeInstanceOf(ServiceUnavailableError);
      expect(event.delayMs).toBeGreaterThan(0);
    }
  });

  it('gives up with ServiceUnavailableError once connectRetryMs has passed', async () => {
    const connector = connect(await findFreePort(), { connectRetryMs: 300 });
    const retries = retriesOf(connector);
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as ServiceUnavailableError).hint).toMatch(/reachable/);
    expect(retries.length).toBeGreaterThan(0);
    const waited = retries.reduce((total, event) => total + event.delayMs, 0);
    expect(waited).toBeLessThanOrEqual(300);
  });

  it('fails at the first refusal with connectRetryMs: 0', async () => {
    const connector = connect(await findFreePort(), { connectRetryMs: 0 });
    const retries = retriesOf(connector);
    await expect(connector.pool.connect()).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(retries).toEqual([]);
  });

  it('gives up on a server that accepts the connection and never answers, after connectTimeoutMs', async () => {
    const silent = createServer((socket) => {
      relayedSockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    relays.push(silent);
    const connector = connect((silent.address() as { port: number }).port, {
      connectTimeoutMs: 300,
      connectRetryMs: 0,
    });
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toContain('did not complete the login within 300 ms');
    expect((error as Error).message).toContain('`connectTimeoutMs`');
  });

  // The two limits meet in one caller's wait: a refused connect is answered at once and retried
  // quickly; a silent one is cut at connectTimeoutMs and then retried like a refused one, so a
  // black-holed address (a failover whose DNS change has not reached this host yet) costs one
  // timeout per attempt, never a hang.
  it('retries a refused port at once, many attempts within a budget far below connectTimeoutMs', async () => {
    const connector = connect(await findFreePort(), { connectRetryMs: 1500, connectTimeoutMs: 10_000 });
    const retries = retriesOf(connector);
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    // Backoff alone (100 ms doubling) allows at least three within 1.5 s; an attempt that waited for
    // its 10 s timeout would allow none.
    expect(retries.length).toBeGreaterThanOrEqual(3);
    for (const event of retries) expect((event.error as Error).message).toContain('could not be reached');
  });

  it('cuts each silent attempt at connectTimeoutMs and retries it within connectRetryMs', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => {
      accepted.push(socket);
      relayedSockets.add(socket);
      socket.on('error', () => {});
      // Read (and drop) what pg sends, so the client's close is seen here.
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    relays.push(silent);
    const connector = connect((silent.address() as { port: number }).port, {
      connectTimeoutMs: 300,
      connectRetryMs: 1000,
    });
    const retries = retriesOf(connector);
    const startedAt = performance.now();
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    // A bound that detects a hang: one budget and one timeout, plus slack for a loaded machine.
    expect(performance.now() - startedAt).toBeLessThan(1000 + 300 + 5000);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toContain('did not complete the login within 300 ms');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    for (const event of retries) {
      expect((event.error as Error).message).toContain('did not complete the login within 300 ms');
    }
    // One connection per attempt, each closed by the client when its time was up.
    expect(accepted.length).toBe(retries.length + 1);
    await vi.waitFor(() => expect(accepted.every((socket) => socket.destroyed)).toBe(true));
  });

  it('rides through a server that is silent at first and answers later', async () => {
    let answering = false;
    const server = createServer((incoming) => {
      relayedSockets.add(incoming);
      incoming.on('error', () => {});
      if (!answering) return; // black-holed: accepted, never answered
      const outgoing = tcpConnect(Number(fixture.stack.env.KEYLESS_POSTGRES_PORT), '127.0.0.1');
      relayedSockets.add(outgoing);
      outgoing.on('error', () => {});
      incoming.pipe(outgoing).pipe(incoming);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relays.push(server);
    const connector = connect((server.address() as { port: number }).port, {
      connectTimeoutMs: 300,
      connectRetryMs: 20_000,
    });
    const retries = retriesOf(connector);
    connector.on('connect-retry', () => {
      // The second timeout in a row: the "DNS change" arrives.
      if (retries.length >= 2) answering = true;
    });
    const result = await connector.query<{ one: number }>('SELECT 1 AS one');
    expect(result.rows).toEqual([{ one: 1 }]);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(String((retries[0]?.error as Error | undefined)?.message)).toContain(
      'did not complete the login within 300 ms',
    );
  });

  it('does not count the wait for the password or token against connectTimeoutMs', async () => {
    const slowProvider = {
      ...fixture.tokenProvider,
      getToken: async (...args: Parameters<typeof fixture.tokenProvider.getToken>) => {
        // Well past the limit below, which a local login's network part stays far under even on a
        // loaded machine.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        return fixture.tokenProvider.getToken(...args);
      },
    };
    const connector = connect(Number(fixture.stack.env.KEYLESS_POSTGRES_PORT), {
      user: fixture.stack.env.KEYLESS_POSTGRES_ENTRA_USER,
      password: entraToken(),
      tokenProvider: slowProvider,
      connectTimeoutMs: 1000,
    });
    const result = await connector.query<{ user: string }>('SELECT current_user AS user');
    expect(result.rows[0]?.user).toBe(fixture.stack.env.KEYLESS_POSTGRES_ENTRA_USER);
  });
});
