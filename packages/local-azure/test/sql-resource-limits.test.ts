import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { type Connection, Request } from 'tedious';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticationFor,
  close,
  connect,
  query,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

const megabyte = 1024 * 1024;
let stack: SqlTestStack;

beforeAll(async () => {
  stack = await startSqlTestStack({ loginTimeoutMs: 500 });
});

afterAll(async () => {
  await stack.stop();
});

interface FloodReport {
  connections: { sent: number; closedByServer: boolean }[];
  peakBufferedBytes: number;
  bufferedBytesAfter: number;
  arrayBuffersGrowth: number;
  rssGrowth: number;
}

/** Runs the flood in its own process, so its memory growth is the endpoint's alone. */
function runFlood(connections: number, bytesPerConnection: number): Promise<FloodReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        join(import.meta.dirname, 'fixtures', 'sql-unauthenticated-flood.mjs'),
        String(connections),
        String(bytesPerConnection),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('exit', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line) as FloodReport);
      else reject(new Error(`the flood script exited with ${code}`));
    });
  });
}

/** Sends the batch at once; resolves with 'ok' or the error's message. */
function executeBatch(connection: Connection, sql: string): Promise<string> {
  return new Promise((resolve) => {
    connection.execSqlBatch(new Request(sql, (error) => resolve(error ? error.message : 'ok')));
  });
}

describe('SQL endpoint: what an unauthenticated connection can make it hold', () => {
  it('closes connections that announce an endless FEDAUTH_TOKEN after a few packets; the process barely grows', {
    timeout: 60_000,
  }, async () => {
    // Four anonymous connections each try to send 16 MB. Before the limits, the endpoint kept all
    // of it for 30 s: about 90 MB of array buffers in this same script.
    const report = await runFlood(4, 16 * megabyte);
    for (const connection of report.connections) {
      expect(connection.closedByServer).toBe(true);
    }
    // LOGIN7 (128 KB − 1) plus a packet is the most an anonymous connection may make it hold.
    expect(report.peakBufferedBytes).toBeLessThanOrEqual(4 * 192 * 1024);
    expect(report.bufferedBytesAfter).toBe(0);
    expect(report.arrayBuffersGrowth).toBeLessThan(4 * megabyte);
    expect(report.rssGrowth).toBeLessThan(48 * megabyte);
  });

  it('closes a connection that has not logged in within the login timeout', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host: stack.sql.host, port: stack.sql.port });
      // A bound that detects a connection left open (the endpoint's timeout here is 500 ms).
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 10_000);
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(closed).toBe(true);
    await expect.poll(() => stack.sql.counters.openConnections).toBe(0);
  });
});

describe('SQL endpoint: what a logged-in connection can make it hold', () => {
  it('answers a request larger than 4 MB with an error, without holding it, and keeps the connection usable', async () => {
    const { connection } = await connect(
      tediousConfiguration(stack, 'strict', await authenticationFor(stack, 'access-token')),
    );
    try {
      stack.sql.counters.reset();
      const huge = `SELECT 1 -- ${'x'.repeat(2.5 * megabyte)}`; // 5 MB as UCS-2
      expect(await executeBatch(connection, huge)).toMatch(
        /larger than the keyless local SQL endpoint accepts/,
      );
      expect(stack.sql.counters.peakBufferedBytes).toBeLessThanOrEqual(4 * megabyte + 64 * 1024);
      expect(await query(connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await close(connection);
    }
  });

  it('stops reading from a client that pipelines more requests than it can queue', async () => {
    const { connection } = await connect(
      tediousConfiguration(stack, 'strict', await authenticationFor(stack, 'access-token')),
    );
    connection.on('error', () => {});
    try {
      stack.sql.counters.reset();
      // Keeps the connection busy, so what follows queues up behind it.
      const waiting = executeBatch(connection, "WAITFOR DELAY '00:00:02'");
      const oneMegabyteBatch = Buffer.concat([
        Buffer.from([4, 0, 0, 0]), // ALL_HEADERS with no header
        Buffer.from(`SELECT 1 -- ${'x'.repeat(megabyte / 2 - 16)}`, 'utf16le'),
      ]);
      const messageIo = (
        connection as unknown as { messageIo: { sendMessage(type: number, data: Buffer): void } }
      ).messageIo;
      for (let index = 0; index < 30; index += 1) messageIo.sendMessage(0x01, oneMegabyteBatch);
      await expect
        .poll(() => stack.sql.counters.bufferedBytes, { timeout: 10_000 })
        .toBeGreaterThan(8 * megabyte);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // 30 MB were sent; the endpoint holds its 8 MB queue, one request being read, and what was in flight.
      expect(stack.sql.counters.peakBufferedBytes).toBeLessThan(14 * megabyte);
      await waiting;
    } finally {
      await close(connection);
    }
    await expect.poll(() => stack.sql.counters.bufferedBytes).toBe(0);
  });
});

describe('SQL endpoint: batches built to make a backtracking matcher explode', () => {
  // Before the tokenizer, the 5 KB one froze the whole process (identity endpoint included) for
  // about 15 s; the 500 KB one would never have finished. tedious's 10 s request timeout is the
  // bound that detects such a hang.
  it.each([5_000, 500_000])(
    'answers a %i-character one with the emulator error, over TDS',
    async (length) => {
      const { connection } = await connect(
        tediousConfiguration(stack, 'strict', await authenticationFor(stack, 'access-token')),
      );
      try {
        const batch = `SELECT 1${' '.repeat(length - 12)}x y`;
        expect(await executeBatch(connection, batch)).toMatch(
          /^Statement not supported by the keyless local SQL endpoint: SELECT 1 .*It is a protocol peer for the authentication path, not a database\.$/s,
        );
        expect(await query(connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      } finally {
        await close(connection);
      }
    },
  );
});
