/**
 * Error codes that mean "the request never got an answer": the server is down, restarting,
 * unreachable or the connection broke. Every connector maps these to `unavailable`; one list
 * keeps them agreeing.
 */
export const networkFailureCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'REQUEST_SEND_ERROR',
]);

/** Whether `code` (an error's `code` property) is in `networkFailureCodes`. */
export function isNetworkFailureCode(code: unknown): boolean {
  return typeof code === 'string' && networkFailureCodes.has(code);
}

/**
 * Whether `error`, or anything in its cause chain (and inside AggregateErrors, which Node's
 * happy-eyeballs connect and tedious produce), carries a network failure code.
 */
export function isNetworkFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (isNetworkFailureCode((current as { code?: unknown }).code)) return true;
    if (current instanceof AggregateError && current.errors.some(isNetworkFailure)) return true;
    current = current.cause;
  }
  return false;
}
