import { isKeylessError } from '@keyless/core';
import { redactKnownSecrets } from '@keyless/core/internal';
import { DemoConfigurationError } from './config.js';

/** What the API and the page show of an error: never a token or a secret (messages are scrubbed). */
export interface ErrorBody {
  code: string;
  message: string;
  hint: string | undefined;
}

/** An error the demo raises itself, with the HTTP status it answers with. */
export class DemoError extends Error {
  override readonly name = 'DemoError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const statusByCode: Record<string, number> = {
  configuration: 500,
  'credential-unavailable': 503,
  unavailable: 503,
  throttled: 503,
  closed: 503,
  'authentication-failed': 502,
  authorization: 502,
  'invalid-response': 502,
};

export function describeError(error: unknown): ErrorBody & { status: number } {
  if (error instanceof DemoError) {
    return {
      code: error.code,
      message: redactKnownSecrets(error.message),
      hint: error.hint,
      status: error.status,
    };
  }
  if (error instanceof DemoConfigurationError) {
    return {
      code: 'configuration',
      message: error.message,
      hint: `set ${error.variables.join(', ')} (see .env.example)`,
      status: 500,
    };
  }
  if (isKeylessError(error)) {
    return {
      code: error.code,
      message: redactKnownSecrets(error.message),
      hint: error.hint,
      status: statusByCode[error.code] ?? 502,
    };
  }
  // A native error (a 404 BlobNotFound, an SQL syntax error): its own code, scrubbed text. The
  // Storage SDK puts the service's code in details, and leaves the message empty for a HEAD.
  const native = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    statusCode?: unknown;
    details?: { errorCode?: unknown };
  };
  const notFound = native.statusCode === 404;
  let code = 'error';
  if (typeof native.details?.errorCode === 'string') code = native.details.errorCode;
  else if (notFound) code = 'not-found';
  else if (typeof native.code === 'string') code = native.code;
  else if (typeof native.name === 'string') code = native.name;
  let message = typeof native.message === 'string' ? native.message : String(error);
  if (message === '') message = notFound ? 'not found (404)' : code;
  return { code, message: redactKnownSecrets(message), hint: undefined, status: notFound ? 404 : 502 };
}
