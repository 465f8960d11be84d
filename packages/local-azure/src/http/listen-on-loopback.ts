import type { Server } from 'node:net';
import { listenOn } from './listen-on.js';

/** The errors that say this machine has no IPv6 loopback (disabled IPv6, a container without it). */
const noIpv6LoopbackCodes = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT', 'EINVAL']);
const attempts = 5;

/**
 * Listens on `localhost` the way clients reach it: on 127.0.0.1 and on ::1, one port for both.
 * A client given `localhost` tries every address it resolves to (tedious: ::1 first where the
 * resolver lists it), and a refused ::1 would cost every login a failed connection attempt. Without
 * an IPv6 loopback only 127.0.0.1 is used. With `port` 0 a port free on both is looked for (a port
 * free on 127.0.0.1 may be taken on ::1).
 */
export async function listenOnLoopback(
  createServer: () => Server,
  port: number,
): Promise<{ servers: Server[]; port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const ipv4 = createServer();
    const boundPort = await listenOn(ipv4, '127.0.0.1', port);
    const ipv6 = createServer();
    try {
      await listenOn(ipv6, '::1', boundPort);
      return { servers: [ipv4, ipv6], port: boundPort };
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (noIpv6LoopbackCodes.has(code)) return { servers: [ipv4], port: boundPort };
      await new Promise((resolve) => ipv4.close(resolve));
      if (code !== 'EADDRINUSE' || port !== 0 || attempt >= attempts) throw error;
    }
  }
}
