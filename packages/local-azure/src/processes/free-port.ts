import { createServer } from 'node:net';

/**
 * A loopback port nobody listens on right now. Servers we spawn as separate processes need the
 * number up front; the tiny window between closing this probe and their bind is acceptable for a
 * developer stack and retried by callers that can.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
