import { describe, expect, it } from 'vitest';
import { DemoConfigurationError, loadProcessConfig, loadResourceConfig } from '../src/config.ts';

describe('configuration', () => {
  it('defaults to local mode, azure-identity, 127.0.0.1 and a free port', () => {
    expect(loadProcessConfig({})).toMatchObject({
      mode: 'local',
      backend: 'azure-identity',
      host: '127.0.0.1',
      port: 0,
      tokenLifetimeSeconds: 86_400,
    });
  });

  it('takes a local token lifetime of a minute to a day', () => {
    expect(loadProcessConfig({ KEYLESS_DEMO_TOKEN_LIFETIME_SECONDS: '300' }).tokenLifetimeSeconds).toBe(300);
    expect(() => loadProcessConfig({ KEYLESS_DEMO_TOKEN_LIFETIME_SECONDS: '5' })).toThrow(
      /KEYLESS_DEMO_TOKEN_LIFETIME_SECONDS/,
    );
  });

  it('names the variable that is wrong, without echoing a value', () => {
    expect(() => loadProcessConfig({ KEYLESS_TOKEN_PROVIDER: 'secret-sauce' })).toThrow(
      /KEYLESS_TOKEN_PROVIDER/,
    );
    expect(() => loadProcessConfig({ KEYLESS_DEMO_MODE: 'cloud' })).toThrow(/KEYLESS_DEMO_MODE/);
    expect(() => loadProcessConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    const error = (() => {
      try {
        loadResourceConfig({ KEYLESS_BLOB_ACCOUNT_URL: 'http://account.example?sig=abc' });
      } catch (caught) {
        return caught as DemoConfigurationError;
      }
    })();
    expect(error).toBeInstanceOf(DemoConfigurationError);
    expect(error?.variables).toEqual(
      expect.arrayContaining([
        'KEYLESS_BLOB_ACCOUNT_URL',
        'KEYLESS_KEYVAULT_URL',
        'KEYLESS_SQL_SERVER',
        'KEYLESS_REDIS_HOST',
      ]),
    );
    expect(error?.message).not.toContain('sig=abc');
  });

  it('reads the Azure resources from the KEYLESS_* variables keyless-local prints', () => {
    const resources = loadResourceConfig({
      KEYLESS_BLOB_ACCOUNT_URL: 'https://account.blob.core.windows.net',
      KEYLESS_KEYVAULT_URL: 'https://vault.vault.azure.net',
      KEYLESS_SQL_SERVER: 'server.database.windows.net',
      KEYLESS_SQL_DATABASE: 'app',
      KEYLESS_POSTGRES_HOST: 'pg.postgres.database.azure.com',
      KEYLESS_POSTGRES_DATABASE: 'app',
      KEYLESS_POSTGRES_USER: 'app',
      KEYLESS_POSTGRES_PASSWORD_SECRET: 'postgres-password',
      KEYLESS_REDIS_HOST: 'cache.redis.cache.windows.net',
      KEYLESS_REDIS_PASSWORD_SECRET: 'redis-password',
    });
    expect(resources.sql).toEqual({ server: 'server.database.windows.net', port: 1433, database: 'app' });
    expect(resources.redis).toMatchObject({ port: 6380, user: undefined });
    expect(resources.blob.container).toBe('keyless-demo');
  });
});
