import { findKeylessError } from '@keyless/core';
import { ProbeTimeoutError } from './with-timeout.js';

/** What the doctor reads from a failure: keyless's code and hint when it is a keyless error. */
export interface ErrorDescription {
  code: string;
  message: string;
  hint: string | undefined;
  /** An HTTP status, or SQL Server's error number, where the error carries one. */
  status: number | undefined;
}

/**
 * The keyless error in `error` (connectors map native errors to it, with a hint), else the native
 * error's name and message. Messages of keyless errors are scrubbed of anything token-shaped;
 * native messages are only taken from errors that keyless did not map, and are bounded.
 */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof ProbeTimeoutError) {
    return { code: error.code, message: error.message, hint: undefined, status: undefined };
  }
  const keyless = findKeylessError(error);
  if (keyless) {
    return {
      code: keyless.code,
      message: keyless.message,
      hint: keyless.hint,
      status: keyless.status,
    };
  }
  const shape = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
  };
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const message =
    typeof shape.message === 'string' ? shape.message.slice(0, 500) : String(error).slice(0, 500);
  return {
    code: status === 403 ? 'authorization' : status === 401 ? 'authentication-failed' : 'unexpected',
    message,
    hint: undefined,
    status,
  };
}
