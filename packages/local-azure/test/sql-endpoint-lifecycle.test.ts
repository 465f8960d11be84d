import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  authenticationFor,
  connect,
  query,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

function openHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter(
      (resource) => resource === 'TCPServerWrap' || resource === 'TCPSocketWrap' || resource === 'Timeout',
    ).length;
}

describe('stop()', () => {
  it('closes the listener and every connection, logged in or not, and can be called twice', async () => {
    const before = openHandles();
    const stack = await startSqlTestStack();
    const { connection } = await connect(
      tediousConfiguration(stack, true, await authenticationFor(stack, 'access-token')),
    );
    expect(await query(connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const halfOpen = netConnect({ host: stack.sql.host, port: stack.sql.port });
    halfOpen.on('error', () => {});
    await new Promise((resolve) => halfOpen.once('connect', resolve));
    await expect.poll(() => stack.sql.counters.openConnections).toBe(2);

    // tedious reports the lost connection as an 'error' event.
    const tediousLost = new Promise((resolve) => connection.once('error', resolve));
    const tediousEnded = new Promise((resolve) => connection.once('end', resolve));
    const halfOpenClosed = new Promise((resolve) => halfOpen.once('close', resolve));
    await Promise.all([stack.stop(), stack.stop()]);
    await stack.stop();
    await Promise.all([tediousLost, tediousEnded, halfOpenClosed]);

    expect(stack.sql.counters.openConnections).toBe(0);
    const refused = await new Promise<string | undefined>((resolve) => {
      const probe = netConnect({ host: stack.sql.host, port: stack.sql.port });
      probe.once('connect', () => {
        probe.destroy();
        resolve(undefined);
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');
    await expect.poll(openHandles).toBeLessThanOrEqual(before);
  });
});
