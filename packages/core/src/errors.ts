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
 * Marks every keyless error, whichever installed copy of @keyless/core made it: npm often installs
 * two (one hoisted, one nested under a connector), and each copy has its own classes. `instanceof`
 * and `isKeylessError` look for this brand instead of the class identity.
 */
const keylessErrorBrand = Symbol.for('@keyless/core.KeylessError');

/**
 * The one base class of every error keyless throws. Message and hint are scrubbed of anything
 * token-shaped and bounded; the cause chain is kept, scrubbed the same way, so a stack print cannot
 * leak one.
 */
export class KeylessError extends Error {
  /**
   * `error instanceof KeylessError` (or a subclass) is true for an error from any copy of
   * @keyless/core: the brand says it is ours, the code says which class. A subclass's
   * `errorCode` names its code; KeylessError itself has none and matches every keyless error.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if ((value as Record<symbol, unknown>)[keylessErrorBrand] !== true) return false;
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass included.
    const code = (this as { errorCode?: KeylessErrorCode }).errorCode;
    return code === undefined || (value as { code?: unknown }).code === code;
  }

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
  /** The code every ConfigurationError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'configuration';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('configuration', message, options);
  }
}

export class CredentialUnavailableError extends KeylessError {
  /** The code every CredentialUnavailableError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'credential-unavailable';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('credential-unavailable', message, options);
  }
}

export class AuthenticationFailedError extends KeylessError {
  /** The code every AuthenticationFailedError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'authentication-failed';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('authentication-failed', message, options);
  }
}

export class AuthorizationError extends KeylessError {
  /** The code every AuthorizationError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'authorization';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('authorization', message, options);
  }
}

export class ThrottledError extends KeylessError {
  /** The code every ThrottledError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'throttled';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('throttled', message, { retryable: true, ...options });
  }
}

export class ServiceUnavailableError extends KeylessError {
  /** The code every ServiceUnavailableError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'unavailable';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('unavailable', message, { retryable: true, ...options });
  }
}

export class InvalidTokenResponseError extends KeylessError {
  /** The code every InvalidTokenResponseError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'invalid-response';

  constructor(message: string, options: KeylessErrorOptions = {}) {
    super('invalid-response', message, options);
  }
}

export class ClosedError extends KeylessError {
  /** The code every ClosedError has; `instanceof` checks it across copies of @keyless/core. */
  static readonly errorCode: KeylessErrorCode = 'closed';

  constructor(what: string) {
    super('closed', `${what} was used after close()`, {
      hint: 'create a new one, or stop calling it once the application shuts down',
    });
  }
}

Object.defineProperty(KeylessError.prototype, keylessErrorBrand, { value: true });

/** Whether `value` is a keyless error, from this or any other installed copy of @keyless/core. */
export function isKeylessError(value: unknown): value is KeylessError {
  return value instanceof KeylessError;
}

/**
 * The keyless error in `error`, its `cause` chain, or the errors of an AggregateError (Node's
 * happy-eyeballs connect, tedious and the SDKs wrap errors so), searched breadth-first a few
 * levels deep; undefined when there is none.
 */
export function findKeylessError(error: unknown): KeylessError | undefined {
  const seen = new Set<unknown>();
  let level: unknown[] = [error];
  for (let depth = 0; depth < 6 && level.length > 0; depth += 1) {
    const next: unknown[] = [];
    for (const candidate of level) {
      if (typeof candidate !== 'object' || candidate === null || seen.has(candidate)) continue;
      seen.add(candidate);
      if (isKeylessError(candidate)) return candidate;
      if (candidate instanceof AggregateError) next.push(...candidate.errors);
      if ('cause' in candidate) next.push((candidate as { cause?: unknown }).cause);
    }
    level = next;
  }
  return undefined;
}

/** How deep a cause chain (and AggregateError members) is scrubbed; deeper links are dropped. */
const maxScrubbedCauseDepth = 4;

/**
 * The cause as kept: unchanged when nothing in its chain (its message, its causes, the errors of
 * an AggregateError, a few levels deep) is long or holds anything secret; otherwise a copy
 * (library errors are objects we don't own) whose every message is bounded and redacted. A token
 * one level down — tedious puts a credential's own error inside an AggregateError — must not print
 * through `util.inspect` any more than one at the top.
 */
function scrubCause(cause: unknown, depth = 0): unknown {
  if (!(cause instanceof Error) || typeof cause.message !== 'string') return cause;
  if (depth >= maxScrubbedCauseDepth) return undefined;
  const scrubbedMessage = boundedErrorText(cause.message);
  const innerCause = (cause as { cause?: unknown }).cause;
  const scrubbedInner = innerCause === undefined ? undefined : scrubCause(innerCause, depth + 1);
  const members = cause instanceof AggregateError ? cause.errors : undefined;
  const scrubbedMembers = members?.map((member: unknown) => scrubCause(member, depth + 1));
  const changed =
    scrubbedMessage !== cause.message ||
    scrubbedInner !== innerCause ||
    (members !== undefined && scrubbedMembers?.some((member, index) => member !== members[index]));
  if (!changed) return cause;
  const copy = Object.create(Object.getPrototypeOf(cause)) as Error;
  Object.assign(copy, cause, { message: scrubbedMessage });
  if (innerCause !== undefined)
    Object.defineProperty(copy, 'cause', { value: scrubbedInner, enumerable: false, configurable: true });
  if (scrubbedMembers !== undefined)
    Object.defineProperty(copy, 'errors', { value: scrubbedMembers, enumerable: false, configurable: true });
  const stack = typeof cause.stack === 'string' ? cause.stack : '';
  // The stack starts with the message: a long one keeps our bounded message and its last frames.
  const boundedStack =
    stack.length <= maxErrorTextLength
      ? boundedErrorText(stack)
      : `${copy.name}: ${scrubbedMessage}\n${boundedErrorText(stack.slice(-maxErrorTextLength))}`;
  Object.defineProperty(copy, 'stack', { value: boundedStack, enumerable: false });
  return copy;
}
