/** The error a probe gets when it runs out of time: its code is `timeout`. */
export class ProbeTimeoutError extends Error {
  readonly code = 'timeout';
  constructor(what: string, timeoutMs: number) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/**
 * `work` or, after `timeoutMs`, a ProbeTimeoutError; `onTimeout` ends what is still running (a
 * connector's close()). The timer never keeps the process alive.
 */
export async function withTimeout<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new ProbeTimeoutError(what, timeoutMs));
    }, timeoutMs);
    timer.unref();
  });
  const running = work(controller.signal);
  // A late rejection of abandoned work is not an unhandled rejection.
  running.catch(() => {});
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
