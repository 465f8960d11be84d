import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const loopbackHost = '127.0.0.1';

/** Asks the kernel for a free loopback port. Another process could take it before the server binds; the launchers retry. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, loopbackHost, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, loopbackHost, () => server.close(() => resolve(true)));
  });
}

/** stop() promises the port is free again, so a restart or the next test can bind it. */
export async function waitForPortToBeFree(port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isPortFree(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} is still in use after the server stopped`);
    await sleep(50);
  }
}
