import { inspect } from 'node:util';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  ServiceUnavailableError,
} from '@keyless/core';
import { maxErrorTextLength } from '@keyless/core/internal';
import { describe, expect, it } from 'vitest';
import { mapRedisError, type RedisErrorContext, sanitizedCause } from '../src/redis-error-mapping.js';

const context: RedisErrorContext = {
  mode: 'secret',
  host: 'cache.example',
  port: 6380,
  username: 'app',
  secretName: 'redis-password',
};

/** An error shaped like ioredis's ReplyError: the failed command, arguments included, attached. */
function replyError(message: string, args: string[] = []): Error {
  return Object.assign(new Error(message), { name: 'ReplyError', command: { name: 'auth', args } });
}

describe('Redis error mapping, without a server', () => {
  it.each([
    [
      'WRONGPASS',
      replyError('WRONGPASS invalid username-password pair', ['app', 'hunter2-password']),
      AuthenticationFailedError,
    ],
    ['NOAUTH', replyError('NOAUTH Authentication required.'), AuthenticationFailedError],
    [
      'NOPERM',
      replyError("NOPERM User app has no permissions to run the 'config' command"),
      AuthorizationError,
    ],
    [
      'refused',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ServiceUnavailableError,
    ],
    [
      'untrusted certificate',
      Object.assign(new Error('self-signed certificate in certificate chain'), {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
      ConfigurationError,
    ],
  ])('%s becomes the typed error, without the command arguments', (_name, error, type) => {
    const mapped = mapRedisError(error, context);
    expect(mapped).toBeInstanceOf(type);
    const printed = inspect(mapped, { depth: 6, showHidden: true });
    expect(printed.includes('hunter2-password')).toBe(false);
  });

  it('leaves the application’s own errors alone', () => {
    const wrongType = replyError('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(mapRedisError(wrongType, context)).toBe(wrongType);
  });

  it('keeps a bounded cause: a reply that echoes 140 KB does not carry it along', () => {
    const echoed = replyError(`ERR Error running script: ${'x'.repeat(140_000)}`);
    const cause = sanitizedCause(echoed) as Error;
    expect(cause.message.length).toBeLessThan(maxErrorTextLength + 100);
    expect(String(cause.stack).length).toBeLessThan(3 * maxErrorTextLength);
    expect((cause as { command?: unknown }).command).toEqual({ name: 'auth' });
  });
});
