import { findFreePort } from './free-port.js';

/** A server the launchers start and stop. */
export interface StartableServer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `server`; a start that fails stops what it got as far as starting, then rethrows. */
export async function startOrCleanUp<Server extends StartableServer>(server: Server): Promise<Server> {
  try {
    await server.start();
    return server;
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  }
}

/** How often a server is started on another free port when the one found free was taken first. */
const portAttempts = 3;

/**
 * Starts a server on the caller's `port`, else on a port found free. A free port can be taken before
 * the server binds it, so a start that `portWasTaken()` explains is tried again on another one; a
 * port the caller chose is never swapped. Resolves with the port the server listens on.
 */
export async function startOnFreePort(
  port: number | undefined,
  start: (port: number) => Promise<void>,
  portWasTaken: () => boolean,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const candidate = port ?? (await findFreePort());
    try {
      await start(candidate);
      return candidate;
    } catch (error) {
      if (port !== undefined || attempt >= portAttempts || !portWasTaken()) throw error;
    }
  }
}
