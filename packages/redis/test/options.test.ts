import { describe, expect, it } from 'vitest';
import { reauthenticationDelay } from '../src/reauthentication-schedule.ts';
import { entraToken, fromKeyVaultSecret } from '../src/redis-auth.ts';
import { resolveConnection } from '../src/redis-options.ts';

describe('settings', () => {
  it('takes options first, then the environment, with TLS on for Azure ports and KEYLESS_REDIS_TLS_PORT', () => {
    const environment = {
      KEYLESS_REDIS_HOST: 'env-host',
      KEYLESS_REDIS_PORT: '7000',
      KEYLESS_REDIS_TLS_PORT: '7001',
    };
    expect(resolveConnection({}, environment)).toEqual({ host: 'env-host', port: 7001, tls: {} });
    expect(resolveConnection({ tls: false }, environment)).toEqual({
      host: 'env-host',
      port: 7000,
      tls: false,
    });
    expect(resolveConnection({ host: 'cache.redis.cache.windows.net' }, {})).toEqual({
      host: 'cache.redis.cache.windows.net',
      port: 6380,
      tls: {},
    });
    expect(resolveConnection({ host: 'h', port: 6379 }, {})).toMatchObject({ port: 6379, tls: false });
    expect(resolveConnection({ host: 'h', port: 10000 }, {})).toMatchObject({ tls: {} });
  });

  it('names the option and the variable when a setting is missing or malformed', () => {
    expect(() => resolveConnection({}, {})).toThrow(/`host`.*KEYLESS_REDIS_HOST/);
    expect(() => resolveConnection({ host: 'h' }, { KEYLESS_REDIS_PORT: 'x' })).toThrow(/KEYLESS_REDIS_PORT/);
    expect(entraToken({ objectId: 'oid' })).toMatchObject({
      objectId: 'oid',
      scope: 'https://redis.azure.com/.default',
    });
    expect(() => fromKeyVaultSecret({ secretName: '' })).toThrow(/secretName/);
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
