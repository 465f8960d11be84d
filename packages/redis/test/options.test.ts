import { ConfigurationError, entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { catchError } from '@keyless/testing';
import { describe, expect, it } from 'vitest';
import { createRedisConnector } from '../src/index.ts';
import { reauthenticationAnswerTimeout, reauthenticationDelay } from '../src/reauthentication-schedule.ts';
import { resolveRedisUser } from '../src/redis-auth.ts';
import { resolveConnection, resolvePassedRedisOptions } from '../src/redis-options.ts';

describe('settings', () => {
  it('takes options first, then the environment, with TLS on for Azure ports and KEYLESS_REDIS_TLS_PORT', () => {
    const environment = {
      KEYLESS_REDIS_HOST: 'localhost',
      KEYLESS_REDIS_PORT: '7000',
      KEYLESS_REDIS_TLS_PORT: '7001',
    };
    expect(resolveConnection({}, environment)).toEqual({ host: 'localhost', port: 7001, tls: {} });
    expect(resolveConnection({ tls: false }, environment)).toMatchObject({
      host: 'localhost',
      port: 7000,
      tls: false,
    });
    expect(resolveConnection({ host: 'cache.redis.cache.windows.net' }, {})).toEqual({
      host: 'cache.redis.cache.windows.net',
      port: 6380,
      tls: {},
    });
    expect(resolveConnection({ host: '127.0.0.1', port: 6379 }, {})).toMatchObject({
      port: 6379,
      tls: false,
    });
    expect(resolveConnection({ host: 'h', port: 10000 }, {})).toMatchObject({ tls: {} });
  });

  // Read from KEYLESS_REDIS_USER / KEYLESS_REDIS_ENTRA_USER when the option is absent, and a missing
  // Entra user named with its variable: the configuration group in test/conformance.test.ts.
  it('the option `user` wins over the environment; a secret without one is the `default` user; a token needs one', () => {
    const environment = {
      KEYLESS_REDIS_USER: 'keyless-app',
      KEYLESS_REDIS_ENTRA_USER: '00000000-0000-0000-0000-00000000000a',
    };
    const secret = fromKeyVaultSecret({ secretName: 'redis-password' });
    expect(resolveRedisUser('app', secret, environment)).toBe('app');
    // No user with a secret: Redis's `default` user (Azure's access keys).
    expect(resolveRedisUser(undefined, secret, {})).toBeUndefined();
    expect(resolveRedisUser('from-code', entraToken(), environment)).toBe('from-code');
    // Missing with a token: the user is never read out of the token, and the error says so.
    const noUser = catchError(() =>
      resolveRedisUser(undefined, entraToken(), { KEYLESS_REDIS_USER: 'app' }),
    ) as ConfigurationError;
    expect(noUser).toBeInstanceOf(ConfigurationError);
    expect(noUser.hint).toContain('never reads it out of the token');
    expect(() => resolveRedisUser(' ', secret, {})).toThrow(/`user`/);
  });

  // The factory is synchronous and asks for nothing: the lifecycle group in test/conformance.test.ts.
  it('the factory refuses a tokenProvider that is not one without echoing it, and a missing password source', () => {
    const tokenProvider = {
      getToken: async () => {
        throw new Error('not asked at construction');
      },
    } as unknown as TokenProvider;
    const notAProvider = catchError(() =>
      createRedisConnector({
        host: '127.0.0.1',
        tls: false,
        password: entraToken(),
        user: 'object-id',
        tokenProvider: 'a-token-string' as never,
      }),
    ) as ConfigurationError;
    expect(notAProvider).toBeInstanceOf(ConfigurationError);
    expect(notAProvider.message).toContain('Invalid option `tokenProvider`');
    expect(notAProvider.message.includes('a-token-string')).toBe(false);
    for (const password of [undefined, { kind: 'entra' }, { mode: 'entra-token' }]) {
      const error = catchError(() =>
        createRedisConnector({ host: '127.0.0.1', tls: false, password, tokenProvider } as never),
      ) as ConfigurationError;
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toContain('No password source is configured for Redis');
      expect(error.hint).toContain('`password`');
      expect(error.hint).toContain('KEYLESS_REDIS_PASSWORD_SECRET');
    }
  });

  // That each is refused, naming the option or variable: the configuration group. Here: that the
  // hint says which setting made the connection plaintext, and which ports are TLS ports.
  it.each([
    ['tls: false', { host: 'cache.example', tls: false }, {}, /`tls: false`/],
    ['port 6379', { host: 'cache.example', port: 6379 }, {}, /`port: 6379`/],
    [
      'KEYLESS_REDIS_PORT',
      {},
      { KEYLESS_REDIS_HOST: 'cache.example', KEYLESS_REDIS_PORT: '6379' },
      /KEYLESS_REDIS_PORT=6379/,
    ],
  ] as const)(
    'refusing plaintext to a host that is not loopback (%s), says which setting asked for it',
    (_name, options, environment, source) => {
      const error = catchError(() => resolveConnection(options, environment)) as {
        message: string;
        hint: string;
      };
      expect(error).toMatchObject({ name: 'ConfigurationError', code: 'configuration' });
      expect(error.message).toMatch(/without TLS/);
      expect(error.hint).toMatch(source);
      expect(error.hint).toMatch(/6380.*10000/);
    },
  );

  // The refusals for a remote host: the configuration group in test/conformance.test.ts.
  it('allows plaintext to loopback, and NODE_TLS_REJECT_UNAUTHORIZED=0 for loopback', () => {
    expect(resolveConnection({ host: '[::1]', tls: false }, {})).toMatchObject({ host: '::1', tls: false });
    expect(resolveConnection({ host: '::1', tls: false }, {})).toMatchObject({ host: '::1', tls: false });
    const off = { NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    expect(resolveConnection({ host: 'localhost' }, off)).toMatchObject({ tls: {} });
  });

  it('passes the other ioredis options through', () => {
    const options = {
      db: 2,
      keyPrefix: 'app:',
      maxRetriesPerRequest: 3,
      password: undefined,
      sentinels: null,
    };
    expect(resolvePassedRedisOptions(options)).toEqual(options);
  });

  it('re-AUTHs at 70% of a long lifetime, at least 5 minutes early, with jitter only earlier', () => {
    const day = 86_400_000;
    expect(reauthenticationDelay(day, () => 0)).toBe(60_480_000);
    expect(reauthenticationDelay(day, () => 1)).toBe(54_432_000);
    const tenMinutes = 600_000;
    expect(reauthenticationDelay(tenMinutes, () => 0)).toBe(300_000);
    expect(reauthenticationDelay(tenMinutes, () => 1)).toBe(270_000);
    expect(reauthenticationDelay(0)).toBe(0);
  });

  it("keeps Azure's 3-minute margin whenever the lifetime allows, short handed-over tokens included", () => {
    const minute = 60_000;
    // A token handed over with 4 minutes left: re-AUTH after 1 minute, 3 minutes before expiry.
    expect(reauthenticationDelay(4 * minute, () => 0)).toBe(minute);
    expect(reauthenticationDelay(6 * minute, () => 0)).toBe(3 * minute);
    // Below ten minutes, promptly: half of what is left when that keeps more than the margin.
    expect(reauthenticationDelay(9 * minute, () => 0)).toBe(4.5 * minute);
    // 3 minutes or less: the margin cannot be kept, so at once (then at the provider's refresh point).
    expect(reauthenticationDelay(3 * minute, () => 0)).toBe(0);
    expect(reauthenticationDelay(4000, () => 0)).toBe(0);
    for (
      let lifetime = 3 * minute + 1000;
      lifetime <= 2 * 86_400_000;
      lifetime = Math.ceil(lifetime * 1.07)
    ) {
      for (const random of [0, 0.5, 1]) {
        const delay = reauthenticationDelay(lifetime, () => random);
        expect(lifetime - delay, `lifetime ${lifetime} ms, random ${random}`).toBeGreaterThanOrEqual(
          3 * minute,
        );
        expect(delay, `lifetime ${lifetime} ms, random ${random}`).toBeGreaterThan(0);
      }
    }
  });

  it("gives a re-AUTH half the old token's remaining time to be answered, between 1 and 30 s", () => {
    expect(reauthenticationAnswerTimeout(180_000)).toBe(30_000);
    expect(reauthenticationAnswerTimeout(8000)).toBe(4000);
    expect(reauthenticationAnswerTimeout(-5)).toBe(1000);
  });
});
