import type { Server } from 'node:net';

/**
 * Starts `server` listening on `host:port` (0: a free port) and resolves with the bound port, or
 * rejects with the listen error (EADDRINUSE, EACCES, …) instead of leaving it to an `error` event.
 */
export function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`listening on ${host}:${port} gave no TCP address`));
        return;
      }
      resolve(address.port);
    });
  });
}
