import { boundedErrorText, maxErrorTextLength } from './redaction.js';

/**
 * Every failure keyless reports has one of these codes. The union is closed so callers can switch
 * on it exhaustively; connectors add no codes of their own.
 */
export type KeylessErrorCode =
  /** A setting is missing or malformed; fix the option or environment variable named in the message. */
  | 'configuration'
  /** No managed identity is reachable from this process (not on Azure, or the endpoint is not configured). */
  | 'credential-unavailable'
  /** The identity endpoint or the service refused the identity (400/401/403, unknown identity, bad login). */
  | 'authentication-failed'
  /** The identity has no permission on the resource; the hint says which role to grant. */
  | 'authorization'
  /** The endpoint or service asked us to slow down (429); `retryAfterMs` says for how long. */
  | 'throttled'
  /** The endpoint or service is unreachable or failing (5xx, 410, timeouts, connection errors). */
  | 'unavailable'
  /** The endpoint answered, but not with a usable token. */
  | 'invalid-response'
  /** The object was used after `close()`. */
  | 'closed';

/** What a keyless error carries besides its code and message. */
export interface KeylessErrorOptions {
  cause?: unknown;
  /** What to do about it, in the user's terms (which role to grant, which variable to set). */
  hint?: string;
  /** HTTP status (or driver error number) that caused this, when there was one. */
  status?: number;
  /** How long the server asked us to wait, when it said. */
  retryAfterMs?: number;
  /** Whether trying again later can succeed. */
  retryable?: boolean;
}

/**
 * The one base class of every error keyless throws. Message and hint are scrubbed of anything
 * token-shaped; the cause is kept (it never holds a token: token responses are not errors), but
 * its message is scrubbed too so a stack print cannot leak one.
 */
export class KeylessError extends Error {
  readonly code: KeylessErrorCode;
  readonly hint: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(code: KeylessErrorCode, message: string, options: KeylessErrorOptions = {}) {
    const hint = options.hint === undefined ? undefined : boundedErrorText(options.hint);
    super(boundedErrorText(hint ? `${message} — ${hint}` : message), { cause: scrubCause(options.cause) });
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = options.retryable ?? false;
  }
}

export class ConfigurationError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('configuration', message, options);
  }
}

export class CredentialUnavailableError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('credential-unavailable', message, options);
  }
}

export class AuthenticationFailedError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('authentication-failed', message, options);
  }
}

export class AuthorizationError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('authorization', message, options);
  }
}

export class ThrottledError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('throttled', message, { retryable: true, ...options });
  }
}

export class ServiceUnavailableError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('unavailable', message, { retryable: true, ...options });
  }
}

export class InvalidTokenResponseError extends KeylessError {
  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('invalid-response', message, options);
  }
}

export class ClosedError extends KeylessError {
  constructor(what: string) {
    super('closed', `${what} was used after close()`, {
      hint: 'create a new one, or stop calling it once the application shuts down',
    });
  }
}

/** Whether `value` is a keyless error: a `KeylessError` or one of its subclasses. */
export function isKeylessError(value: unknown): value is KeylessError {
  return value instanceof KeylessError;
}

/**
 * The cause as kept: unchanged when its message is short and holds nothing secret; otherwise a
 * copy (library errors are objects we don't own) with the message bounded and redacted.
 */
function scrubCause(cause: unknown): unknown {
  if (cause instanceof Error && typeof cause.message === 'string') {
    const scrubbedMessage = boundedErrorText(cause.message);
    if (scrubbedMessage !== cause.message) {
      const copy = Object.create(Object.getPrototypeOf(cause)) as Error;
      Object.assign(copy, cause, { message: scrubbedMessage });
      const stack = typeof cause.stack === 'string' ? cause.stack : '';
      // The stack starts with the message: a long one keeps our bounded message and its last frames.
      const boundedStack =
        stack.length <= maxErrorTextLength
          ? boundedErrorText(stack)
          : `${copy.name}: ${scrubbedMessage}\n${boundedErrorText(stack.slice(-maxErrorTextLength))}`;
      Object.defineProperty(copy, 'stack', { value: boundedStack, enumerable: false });
      return copy;
    }
  }
  return cause;
}
