import { ConfigurationError, entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { catchError } from '@keyless/testing';
import { describe, expect, it } from 'vitest';
import { createRedisConnector } from '../src/index.ts';
import { reauthenticationDelay } from '../src/reauthentication-schedule.ts';
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

  it('names the option and the variable when a setting is missing or malformed', () => {
    expect(() => resolveConnection({}, {})).toThrow(/`host`.*KEYLESS_REDIS_HOST/);
    expect(() => resolveConnection({ host: 'h' }, { KEYLESS_REDIS_PORT: 'x' })).toThrow(/KEYLESS_REDIS_PORT/);
  });

  it('the option `user`, else the environment: the ACL user with a secret, the object id with a token', () => {
    const environment = {
      KEYLESS_REDIS_USER: 'keyless-app',
      KEYLESS_REDIS_ENTRA_USER: '00000000-0000-0000-0000-00000000000a',
    };
    const secret = fromKeyVaultSecret({ secretName: 'redis-password' });
    expect(resolveRedisUser(undefined, secret, environment)).toBe('keyless-app');
    expect(resolveRedisUser('app', secret, environment)).toBe('app');
    // No user with a secret: Redis's `default` user (Azure's access keys).
    expect(resolveRedisUser(undefined, secret, {})).toBeUndefined();
    expect(resolveRedisUser(undefined, entraToken(), environment)).toBe(
      '00000000-0000-0000-0000-00000000000a',
    );
    expect(resolveRedisUser('from-code', entraToken(), environment)).toBe('from-code');
    // Missing with a token: the error names the option and the variable.
    const noUser = catchError(() =>
      resolveRedisUser(undefined, entraToken(), { KEYLESS_REDIS_USER: 'app' }),
    ) as {
      message: string;
      hint: string;
    };
    expect(noUser).toBeInstanceOf(ConfigurationError);
    expect(`${noUser.message} ${noUser.hint}`).toMatch(/`user`.*KEYLESS_REDIS_ENTRA_USER/);
    expect(noUser.hint).toContain('never reads it out of the token');
    expect(() => resolveRedisUser(' ', secret, {})).toThrow(/`user`/);
  });

  it('the factory returns at once and fetches nothing; bad configuration still throws ConfigurationError from it', async () => {
    let asked = 0;
    const tokenProvider = {
      getToken: async () => {
        asked += 1;
        throw new Error('not asked before first use');
      },
    } as unknown as TokenProvider;
    const connector = createRedisConnector({
      host: '127.0.0.1',
      tls: false,
      password: entraToken(),
      user: 'object-id',
      tokenProvider,
    });
    expect(typeof (connector as unknown as { then?: unknown }).then).toBe('undefined');
    expect(asked).toBe(0);
    await connector.close();
    expect(asked).toBe(0);
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
    'refuses plaintext to a host that is not loopback (%s)',
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

  it('allows plaintext to loopback, and refuses NODE_TLS_REJECT_UNAUTHORIZED=0 for a remote host only', () => {
    expect(resolveConnection({ host: '[::1]', tls: false }, {})).toMatchObject({ host: '::1', tls: false });
    expect(resolveConnection({ host: '::1', tls: false }, {})).toMatchObject({ host: '::1', tls: false });
    expect(() => resolveConnection({ host: 'rediss://cache.example' }, {})).toThrow(/bare host name/);
    const off = { NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    expect(resolveConnection({ host: 'localhost' }, off)).toMatchObject({ tls: {} });
    expect(() => resolveConnection({ host: 'cache.example' }, off)).toThrow(/NODE_TLS_REJECT_UNAUTHORIZED/);
  });

  it.each([
    ['tls', { rejectUnauthorized: false }, 'tls.rejectUnauthorized'],
    ['tls', { checkServerIdentity: () => undefined }, 'tls.checkServerIdentity'],
    ['tls', { ca: 'pem', servername: 'other' }, 'tls.servername'],
    ['tls', { ca: 'pem', port: 1 }, 'tls.port'],
  ] as const)('refuses %s %o, naming the option', (_option, tls, path) => {
    expect(() => resolveConnection({ host: 'cache.example', tls: tls as never }, {})).toThrow(`\`${path}\``);
  });

  it.each([
    [{ tls: { rejectUnauthorized: false } }, 'redisOptions.tls.rejectUnauthorized'],
    [{ tls: {} }, 'redisOptions.tls'],
    [{ Connector: class {} }, 'redisOptions.Connector'],
    [{ path: '/tmp/redis.sock' }, 'redisOptions.path'],
    [{ password: 'x' }, 'redisOptions.password'],
    [{ username: 'x' }, 'redisOptions.username'],
    [{ host: 'x' }, 'redisOptions.host'],
    [{ port: 1 }, 'redisOptions.port'],
    [{ sentinels: [] }, 'redisOptions.sentinels'],
    [{ sentinelPassword: 'x' }, 'redisOptions.sentinelPassword'],
    [{ sentinelTLS: {} }, 'redisOptions.sentinelTLS'],
    [{ enableTLSForSentinelMode: true }, 'redisOptions.enableTLSForSentinelMode'],
    [{ natMap: {} }, 'redisOptions.natMap'],
  ])('refuses redisOptions %o, naming the option', (redisOptions, path) => {
    expect(() => resolvePassedRedisOptions(redisOptions)).toThrow(`\`${path}\``);
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

  it('re-AUTHs at 70% of a short lifetime, at least 5 minutes early for long ones, with jitter only earlier', () => {
    expect(reauthenticationDelay(4000, () => 0)).toBe(2800);
    expect(reauthenticationDelay(4000, () => 1)).toBe(2400);
    const day = 86_400_000;
    expect(reauthenticationDelay(day, () => 0)).toBe(60_480_000);
    const tenMinutes = 600_000;
    expect(reauthenticationDelay(tenMinutes, () => 0)).toBe(300_000);
    expect(reauthenticationDelay(0)).toBe(0);
  });
});
