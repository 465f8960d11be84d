import { connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ConnectRetryEvent, PostgresConnector } from '../src/index.js';
import { useSecretModeStack } from './support/secret-mode-stack.js';

/**
 * Azure takes a flexible server away for up to about two minutes in a failover, a restart or a
 * compute scale (60–120 s for an HA failover:
 * https://learn.microsoft.com/azure/postgresql/high-availability/concepts-high-availability), and
 * the default connectRetryMs is chosen to ride that out. This test takes the local server away for
 * 60 s — nothing listening on its port — under a steady query load, with the connector's defaults.
 *
 * What it shows, precisely: the absence starts between queries (the load is parked while the server
 * shuts down, and resumes once the server is gone and the pool has dropped the sessions the
 * shutdown ended), so every query issued during the 60 s needs a new connection; each of those
 * waits the absence out and gets its answer once the server is back: zero failed queries. A query
 * already running on a session the shutdown ends is a different case — it may have run, so it is
 * not retried, and fails typed (secret-mode.test.ts covers that one).
 *
 * Slow by nature: about 65 s.
 */
const downtimeMs = 60_000;
const workers = 4;

describe('@keyless/postgres across a 60 s server absence', () => {
  const fixture = useSecretModeStack();

  /** Short queries from `workers` loops, parked on request between two queries. */
  const steadyLoad = (connector: PostgresConnector) => {
    const failures: unknown[] = [];
    /** Queries issued while `absent` was true, and how many of them got their answer. */
    const duringAbsence = { issued: 0, answered: 0 };
    let succeeded = 0;
    let running = true;
    let absent = false;
    let inFlight = 0;
    let gate: Promise<void> | undefined;
    let openGate: (() => void) | undefined;
    const loop = async () => {
      while (running) {
        if (gate) await gate;
        if (!running) break;
        const issuedWhileAbsent = absent;
        if (issuedWhileAbsent) duringAbsence.issued += 1;
        inFlight += 1;
        try {
          const result = await connector.query<{ one: number }>('SELECT 1 AS one');
          if (result.rows[0]?.one !== 1) throw new Error('unexpected answer');
          succeeded += 1;
          if (issuedWhileAbsent) duringAbsence.answered += 1;
        } catch (error) {
          failures.push(error);
        } finally {
          inFlight -= 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const done = Promise.all(Array.from({ length: workers }, loop));
    return {
      failures,
      duringAbsence,
      get succeeded() {
        return succeeded;
      },
      /** Resolves once no query is running: every worker waits at the gate. */
      async park() {
        gate = new Promise((resolve) => {
          openGate = resolve;
        });
        await until(() => inFlight === 0);
      },
      resume(whileAbsent: boolean) {
        absent = whileAbsent;
        gate = undefined;
        openGate?.();
      },
      markBack() {
        absent = false;
      },
      async stop() {
        running = false;
        gate = undefined;
        openGate?.();
        await done;
      },
    };
  };

  it(
    'new connections wait out 60 s with nothing listening, under load, with default options: zero failed queries',
    async () => {
      const postgres = fixture.stack.postgres;
      if (!postgres) throw new Error('the stack runs PostgreSQL');
      // Defaults for connectRetryMs and connectTimeoutMs: what this test is about.
      const connector = fixture.connect({ pool: { max: workers } });
      const retries: ConnectRetryEvent[] = [];
      connector.on('connect-retry', (event) => retries.push(event));
      const idleErrors: unknown[] = [];
      connector.on('idle-connection-error', ({ error }) => idleErrors.push(error));
      const startedBefore = await serverStartTime(connector);
      const load = steadyLoad(connector);
      try {
        await until(() => load.succeeded >= 40);

        await load.park();
        const restarted = postgres.restart({ downtimeMs });
        // The absence has begun once the port refuses and the pool holds no session of the old server.
        await until(async () => (await portRefuses(postgres.port)) && connector.pool.totalCount === 0);
        load.resume(true);

        await restarted;
        load.markBack();
        const afterRestart = load.succeeded;
        await until(() => load.succeeded >= afterRestart + 40);
      } finally {
        await load.stop();
      }

      expect(load.failures.map(String)).toEqual([]);
      // Queries were issued while nothing listened, and every one of them got its answer.
      expect(load.duringAbsence.issued).toBeGreaterThanOrEqual(workers);
      expect(load.duringAbsence.answered).toBe(load.duringAbsence.issued);
      // They waited through refused connections, retried by the connector, not by luck.
      expect(retries.length).toBeGreaterThan(0);
      expect(retries.some((event) => /ECONNREFUSED/.test(String((event.error as Error).message)))).toBe(true);
      // One retry chain lasted the absence: its planned waits alone add up to most of the 60 s.
      expect(longestRetryChainMs(retries)).toBeGreaterThan(downtimeMs / 2);
      // The sessions the shutdown ended while idle were dropped (typed), failing nothing.
      expect(idleErrors.every((error) => (error as { code?: unknown }).code === 'unavailable')).toBe(true);
      // The server really went away and came back.
      expect(await serverStartTime(connector)).not.toBe(startedBefore);
      expect(connector.pool.totalCount).toBeLessThanOrEqual(workers);
    },
    downtimeMs + 120_000,
  );
});

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** True when a TCP connect to the port is refused: nothing listens there. */
function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function serverStartTime(connector: PostgresConnector): Promise<string> {
  const result = await connector.query<{ started: string }>(
    'SELECT pg_postmaster_start_time()::text AS started',
  );
  return String(result.rows[0]?.started);
}

/**
 * The largest sum of planned waits of one connect's retries: events count `attempt` from 1 for each
 * connect, and several connects retry at once, so the chains are told apart by their attempt numbers.
 */
function longestRetryChainMs(events: readonly ConnectRetryEvent[]): number {
  const chains: { next: number; waitedMs: number }[] = [];
  for (const event of events) {
    const chain = chains.find((candidate) => candidate.next === event.attempt);
    if (chain && event.attempt > 1) {
      chain.next += 1;
      chain.waitedMs += event.delayMs;
    } else {
      chains.push({ next: event.attempt + 1, waitedMs: event.delayMs });
    }
  }
  return Math.max(0, ...chains.map((chain) => chain.waitedMs));
}
