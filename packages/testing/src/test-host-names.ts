import dns, { type LookupAddress, type LookupOptions } from 'node:dns';

/**
 * A host name that is *not* loopback to keyless's guard but reaches a listener on this machine:
 * the attacker suites need a destination that keyless must treat as another machine, and nothing
 * outside loopback may ever be a test target. Reserved by RFC 2606, so it never means a real host.
 */
export const remoteLookingHost = 'keyless-target.test';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * Makes `dns.lookup` (which net, tls, https, pg, ioredis and tedious all call at connect time)
 * answer 127.0.0.1 for the given names in this process, and everything else as before. Only name
 * resolution is faked: sockets, TLS and certificate checks are real. Returns the undo.
 */
export function resolveTestHostsToLoopback(names: readonly string[] = [remoteLookingHost]): () => void {
  const original = dns.lookup;
  const originalPromise = dns.promises.lookup;
  const mapped = new Set(names.map((name) => name.toLowerCase()));
  const answer = (options: LookupOptions | number | undefined) => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    return all ? [{ address: '127.0.0.1', family: 4 }] : '127.0.0.1';
  };
  const patched = ((hostname: string, options: unknown, callback?: unknown) => {
    const done = (typeof options === 'function' ? options : callback) as LookupCallback;
    const lookupOptions = typeof options === 'function' ? undefined : (options as LookupOptions | number);
    if (!mapped.has(String(hostname).toLowerCase())) {
      return (original as (...args: unknown[]) => void)(
        hostname,
        ...(typeof options === 'function' ? [options] : [options, callback]),
      );
    }
    const result = answer(lookupOptions);
    process.nextTick(() => (Array.isArray(result) ? done(null, result) : done(null, result, 4)));
    return undefined;
  }) as typeof dns.lookup;
  dns.lookup = patched;
  dns.promises.lookup = (async (hostname: string, options?: LookupOptions | number) => {
    if (!mapped.has(String(hostname).toLowerCase()))
      return originalPromise(hostname, options as LookupOptions);
    const result = answer(options);
    return Array.isArray(result) ? result : { address: result, family: 4 };
  }) as typeof dns.promises.lookup;
  return () => {
    dns.lookup = original;
    dns.promises.lookup = originalPromise;
  };
}
