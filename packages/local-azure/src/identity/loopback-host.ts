import { isIP } from 'node:net';

/**
 * The endpoint mints tokens for anyone who can reach it, exactly like the real one on its host:
 * it must never be reachable from another machine.
 */
export function assertLoopbackHost(host: string): void {
  const isLoopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (!isLoopback) {
    throw new Error(
      `identity endpoint: host '${host}' is not a loopback address; use 127.0.0.1, ::1 or localhost so no other machine can mint tokens`,
    );
  }
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
