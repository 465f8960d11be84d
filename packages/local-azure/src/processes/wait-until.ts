import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Resolves with a reason to give up at once, even mid-attempt (the server exited). */
  abortWhen?: Promise<string>;
}

/**
 * Calls `attempt` until it returns a value (not undefined) or the time is up. The last error is
 * kept so a timeout says what was still failing.
 */
export async function waitUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: WaitOptions,
): Promise<{ value: T } | { failure: string }> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no attempt finished';
  let abortReason: string | undefined;
  const aborted = options.abortWhen?.then((reason) => {
    abortReason = reason;
    return { aborted: reason };
  });
  for (;;) {
    if (abortReason !== undefined) return { failure: abortReason };
    try {
      const running = attempt();
      // An attempt overtaken by the abort may still fail later; nobody is waiting for it then.
      running.catch(() => {});
      const outcome = await Promise.race([
        running.then((value) => ({ value })),
        ...(aborted ? [aborted] : []),
      ]);
      if ('aborted' in outcome) return { failure: outcome.aborted };
      const value = outcome.value;
      if (value !== undefined) return { value };
      lastError = 'not ready yet';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) return { failure: `not ready after ${options.timeoutMs} ms (${lastError})` };
    await sleep(options.intervalMs ?? 50);
  }
}
