import type { Attributes } from '@opentelemetry/api';
import { instruments, recordSpan } from './instruments.js';

/**
 * What the connector packages record through @keyless/core/internal (one OpenTelemetry home, one
 * scope name). Attribute names follow the OpenTelemetry semantic conventions where one exists
 * (`server.address`, `error.type`, `db.system.name`); the rest are `keyless.*`. Names and ids only:
 * never a token, password or secret value.
 */
export interface OperationError {
  /** A KeylessError code (`authentication-failed`, …): the `error.type`. */
  code: string;
  message: string;
}

/** A Key Vault secret fetch by a secret source finished (foreground or background). */
export function recordSecretFetch(attributes: Attributes, durationMs: number, error?: OperationError): void {
  const telemetry = instruments();
  if (telemetry === undefined) return;
  const outcome =
    error === undefined
      ? { 'keyless.outcome': 'success' }
      : { 'keyless.outcome': 'failure', 'error.type': error.code };
  telemetry.secretRefreshes.add(1, { ...attributes, ...outcome });
  recordSpan(telemetry, 'keyless.secret.fetch', durationMs, attributes, error);
}

/** A secret's new version reached its consumers (a rotation handled without a restart). */
export function recordRotationHandled(attributes: Attributes): void {
  instruments()?.secretRotations.add(1, attributes);
}

/** A connector's login finished: a span; a refused one is also counted as an authentication failure. */
export function recordLogin(attributes: Attributes, durationMs: number, error?: OperationError): void {
  const telemetry = instruments();
  if (telemetry === undefined) return;
  recordSpan(telemetry, 'keyless.connector.login', durationMs, attributes, error);
  if (error?.code === 'authentication-failed' || error?.code === 'authorization') {
    telemetry.authenticationFailures.add(1, { ...attributes, 'error.type': error.code });
  }
}

/** A service refused the password or token (counted even when the connector recovers by renewing it). */
export function recordAuthenticationFailure(attributes: Attributes): void {
  instruments()?.authenticationFailures.add(1, { ...attributes, 'error.type': 'authentication-failed' });
}
