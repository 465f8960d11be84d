import type { ProbeReport } from '../doctor-report.js';
import { describeError } from '../error-description.js';
import { type FixContext, probeFailure } from '../failure-fixes.js';
import { withTimeout } from '../with-timeout.js';

/** Something a probe opened, closed whatever happened (a timed-out probe included). */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Runs one read-only operation through a connector within `timeoutMs`, then closes the connector,
 * so a probe neither hangs the doctor nor keeps the process alive. A closing that itself hangs is
 * abandoned after the same time.
 */
export async function runProbe(
  operation: string,
  context: FixContext,
  timeoutMs: number,
  open: () => Closable,
  work: (opened: Closable, signal: AbortSignal) => Promise<void>,
): Promise<ProbeReport> {
  const started = performance.now();
  let opened: Closable | undefined;
  try {
    opened = open();
    const connector = opened;
    await withTimeout((signal) => work(connector, signal), timeoutMs, operation);
    return { operation, status: 'pass', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      operation,
      status: 'fail',
      latencyMs: Math.round(performance.now() - started),
      failure: probeFailure(describeError(error), context),
    };
  } finally {
    if (opened) {
      const connector = opened;
      await withTimeout(() => connector.close(), timeoutMs, `closing ${operation}`).catch(() => {});
    }
  }
}
