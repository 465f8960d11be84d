import type { KeylessError } from '../errors.js';
import type { TokenEventBase } from '../events.js';
import { instruments, recordSpan } from './instruments.js';

/** The attributes of a token operation: names and ids, never the token. */
function tokenAttributes(describe: TokenEventBase, kind: 'acquire' | 'refresh') {
  return {
    'keyless.token.scope': describe.scope,
    'keyless.token.backend': describe.backend,
    'keyless.identity': describe.identity,
    'keyless.token.kind': kind,
  };
}

/** A token request finished (the cache entry calls this once per request, whatever the listeners). */
export function recordTokenRequest(
  describe: TokenEventBase,
  kind: 'acquire' | 'refresh',
  latencyMs: number,
  error?: KeylessError,
): void {
  const telemetry = instruments();
  if (telemetry === undefined) return;
  const attributes = tokenAttributes(describe, kind);
  const outcome =
    error === undefined
      ? { 'keyless.outcome': 'success' }
      : { 'keyless.outcome': 'failure', 'error.type': error.code };
  telemetry.tokenRequests.add(1, { ...attributes, ...outcome });
  telemetry.tokenDuration.record(latencyMs / 1000, { ...attributes, ...outcome });
  recordSpan(telemetry, `keyless.token.${kind}`, latencyMs, attributes, error);
}

/** The identity endpoint answered 429. */
export function recordTokenThrottle(describe: TokenEventBase, status: number): void {
  const telemetry = instruments();
  if (telemetry === undefined) return;
  telemetry.tokenThrottles.add(1, {
    'keyless.token.scope': describe.scope,
    'keyless.token.backend': describe.backend,
    'http.response.status_code': status,
  });
}
