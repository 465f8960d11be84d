import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../src/index.js';
import { findListeningProcess, processIsGone } from './support/listening-process.js';
import { tryLogin } from './support/postgres-clients.js';

// Azure documents failover and maintenance as "RTO … less than 120s" during which the server is
// unreachable (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-business-continuity):
// restart({ downtimeMs }) leaves the port closed that long, so clients see connection refused.

/** 'refused' when nothing listens, 'accepted' when something does. */
function probe(port: number): Promise<'refused' | 'accepted' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? 'error')),
    );
  });
}

async function untilRefused(port: number): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    if ((await probe(port)) === 'refused') return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the port never closed');
}

describe('PostgreSQL restart({ downtimeMs })', () => {
  it('keeps the port closed for the downtime, then serves on the same port with data kept', async () => {
    const instance = await startPostgres({ users: [{ name: 'app', password: 'app-password' }] });
    try {
      await instance.query('CREATE TABLE kept (value text)');
      await instance.query("INSERT INTO kept VALUES ('survives')");
      const port = instance.port;
      const downtimeMs = 2_500;

      let settled = false;
      const started = performance.now();
      const restarting = instance.restart({ downtimeMs }).finally(() => {
        settled = true;
      });
      await untilRefused(port);
      const closedAt = performance.now();
      // Sampled through the downtime: every attempt is refused, and the restart is still under way.
      const samples: string[] = [];
      while (performance.now() - closedAt < 1_000) {
        samples.push(await probe(port));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(samples.length).toBeGreaterThan(3);
      expect(new Set(samples)).toEqual(new Set(['refused']));
      expect(settled).toBe(false);
      expect(await tryLogin(instance, 'app', 'app-password')).toMatch(/ECONNREFUSED/);
      await expect(instance.query('SELECT 1')).rejects.toThrow(/not running/);

      await restarting;
      // The restart waited out the whole downtime (a lower bound: timers never fire early).
      expect(performance.now() - started).toBeGreaterThanOrEqual(downtimeMs - 5);
      expect(instance.port).toBe(port);
      expect(await probe(port)).toBe('accepted');
      expect(await tryLogin(instance, 'app', 'app-password')).toBe('app');
      expect(await instance.query('SELECT value FROM kept')).toEqual([{ value: 'survives' }]);
    } finally {
      await instance.stop();
    }
  });

  it('stop() during the downtime ends the restart: nothing is started again, nothing is left', async () => {
    const instance = await startPostgres();
    const server = findListeningProcess(instance.port);
    const restarting = instance.restart({ downtimeMs: 60_000 }).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await untilRefused(instance.port);
    await instance.stop();
    expect(await restarting).toMatch(/stopped during its restart/);
    expect(processIsGone(server?.pid ?? 0)).toBe(true);
    expect(await probe(instance.port)).toBe('refused');
    // initdb, start and stop take most of vitest's 30 s default on a busy 2-core CI machine.
  }, 90_000);

  it('refuses a negative or non-numeric downtime before stopping anything', async () => {
    const instance = await startPostgres();
    try {
      await expect(instance.restart({ downtimeMs: -1 })).rejects.toThrow(RangeError);
      await expect(instance.restart({ downtimeMs: Number.NaN })).rejects.toThrow(/downtimeMs/);
      expect(await instance.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await instance.stop();
    }
  });
});
