import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mapEndpointFailure } from '../src/backends/endpoint-failure.js';
import { AuthenticationFailedError, KeylessError } from '../src/index.js';
import {
  parseRetryAfter,
  redactKnownSecrets,
  redactText,
  registerSecretForRedaction,
} from '../src/internal.js';

const jwt =
  'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3N0b3JhZ2UuYXp1cmUuY29tIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

const context = {
  backend: 'msal' as const,
  identity: { kind: 'system-assigned' as const },
  resource: 'https://storage.azure.com',
  environment: { IDENTITY_ENDPOINT: 'http://127.0.0.1:9/msi/token' },
  now: Date.UTC(2026, 0, 1),
};

describe('redaction', () => {
  it('removes JWTs, bearer credentials and named secrets from text', () => {
    const text = `token ${jwt} header Bearer abcdefghijklmnopqrstuvwxyz0123 body {"access_token":"zzz-secret"} Password=hunter22;`;
    const redacted = redactText(text);
    expect(redacted).not.toContain(jwt);
    expect(redacted).not.toContain('abcdefghijklmnopqrstuvwxyz0123');
    expect(redacted).not.toContain('zzz-secret');
    expect(redacted).not.toContain('hunter22');
    expect(redacted).toContain('[REDACTED]');
  });

  it('removes registered secrets that have no recognisable shape', () => {
    registerSecretForRedaction('plain-rotated-password-42');
    expect(redactKnownSecrets('login failed for plain-rotated-password-42')).toBe(
      'login failed for [REDACTED]',
    );
  });

  it('scrubs error messages, hints and causes', () => {
    const cause = new Error(`upstream said ${jwt}`);
    const error = new AuthenticationFailedError(`bad token ${jwt}`, { cause, hint: `try ${jwt}` });
    for (const text of [
      error.message,
      String(error.hint),
      String(error.stack),
      inspect(error, { depth: 5 }),
      JSON.stringify(error),
    ]) {
      expect(text).not.toContain(jwt);
    }
    expect((error.cause as Error).message).toContain('[REDACTED]');
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('endpoint failure mapping', () => {
  it('maps 429 to throttled with Retry-After in seconds and as an HTTP date', () => {
    const seconds = mapEndpointFailure(new Error('x'), { status: 429, retryAfter: '7' }, context);
    expect(seconds).toMatchObject({ code: 'throttled', retryAfterMs: 7000, retryable: true });
    const date = new Date(context.now + 90_000).toUTCString();
    const dated = mapEndpointFailure(new Error('x'), { status: 429, retryAfter: date }, context);
    expect(dated.retryAfterMs).toBe(90_000);
  });

  it('maps 400/401/403 to authentication-failed, not retryable, with the endpoint description', () => {
    for (const status of [400, 401, 403]) {
      const error = mapEndpointFailure(
        new Error('x'),
        { status, errorDescription: 'Identity not found' },
        context,
      );
      expect(error).toMatchObject({ code: 'authentication-failed', retryable: false, status });
      expect(error.message).toContain('Identity not found');
      expect(error.hint).toContain('system-assigned');
    }
  });

  it('maps 404/410/5xx to unavailable and retryable', () => {
    for (const status of [404, 410, 500, 503]) {
      expect(mapEndpointFailure(new Error('x'), { status }, context)).toMatchObject({
        code: 'unavailable',
        retryable: true,
      });
    }
  });

  it('maps a 200 the library could not use to invalid-response', () => {
    expect(mapEndpointFailure(new Error('bad json'), { status: 200 }, context).code).toBe('invalid-response');
  });

  it('says which variables were looked for when no endpoint is configured and nothing answers', () => {
    const error = mapEndpointFailure(
      new Error('connect EHOSTUNREACH'),
      { networkError: new Error('EHOSTUNREACH') },
      { ...context, environment: {} },
    );
    expect(error.code).toBe('credential-unavailable');
    expect(error.message).toContain('169.254.169.254');
    expect(error.hint).toContain('IDENTITY_ENDPOINT');
    expect(error.hint).toContain('AZURE_POD_IDENTITY_AUTHORITY_HOST');
  });

  it('treats a configured endpoint that does not answer as unavailable (retryable)', () => {
    const error = mapEndpointFailure(
      new Error('ECONNREFUSED'),
      { networkError: new Error('ECONNREFUSED') },
      context,
    );
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.message).toContain('127.0.0.1:9');
  });

  it("reads the status from MSAL's error chain when our recorder saw no answer", () => {
    // What azure-identity throws when MSAL's process-wide network client is someone else's.
    const serverError = Object.assign(new Error('access_denied'), {
      status: 403,
      errorCode: 'access_denied',
    });
    const wrapped = new Error('ManagedIdentityCredential: Authentication failed', { cause: serverError });
    expect(mapEndpointFailure(wrapped, {}, context)).toMatchObject({
      code: 'authentication-failed',
      status: 403,
    });
    const throttled = new Error('x', {
      cause: Object.assign(new Error('too_many_requests'), { status: 429 }),
    });
    expect(mapEndpointFailure(throttled, {}, context).code).toBe('throttled');
    const network = Object.assign(new Error('network_error'), { errorCode: 'network_error' });
    expect(mapEndpointFailure(new Error('Network unreachable', { cause: network }), {}, context).code).toBe(
      'unavailable',
    );
  });

  it('passes a KeylessError through untouched', () => {
    const original = new KeylessError('throttled', 'x');
    expect(mapEndpointFailure(original, {}, context)).toBe(original);
  });
});

describe('Retry-After parsing', () => {
  it('reads seconds, HTTP dates, and ignores garbage', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('the cause chain is scrubbed, not only its top', () => {
  it('redacts a token one and two levels down, in causes and AggregateError members', () => {
    const token = `eyJ${'a'.repeat(20)}.eyJ${'b'.repeat(20)}.${'c'.repeat(20)}`;
    const deepest = new Error(`credential said ${token}`);
    const aggregate = new AggregateError([new Error('connect ECONNREFUSED'), deepest], 'login failed');
    const middle = new Error('driver failed', { cause: aggregate });
    const error = new AuthenticationFailedError('refused', { cause: middle });
    const printed = inspect(error, { depth: 10, showHidden: true });
    expect(printed.includes(token)).toBe(false);
    expect(printed).toContain('[REDACTED]');
    expect(printed).toContain('connect ECONNREFUSED');
    // Untouched when there is nothing to hide: the very same objects.
    const clean = new Error('clean', { cause: new Error('also clean') });
    expect(new AuthenticationFailedError('x', { cause: clean }).cause).toBe(clean);
  });
});
