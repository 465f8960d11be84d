import { ConfigurationError, entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { catchError } from '@keyless/testing';
import { describe, expect, it } from 'vitest';
import { createPostgresConnector, type PostgresConnectorOptions } from '../src/index.js';
import { resolvePostgresOptions } from '../src/postgres-options.js';

/**
 * What the factory refuses, without a server, beyond the configuration group of
 * test/conformance.test.ts (which settings are read from where, missing and malformed values, and
 * the TLS-weakening paths): options without a variable, a missing password source, and values that
 * must never be echoed.
 */

/** Never asked: these tests stop at construction. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token at construction')),
} as unknown as TokenProvider;

const options: PostgresConnectorOptions = {
  host: 'example.postgres.database.azure.com',
  user: 'app',
  password: fromKeyVaultSecret({
    secretName: 'postgres-password',
    vaultUrl: 'https://keyless.vault.azure.net',
  }),
  tokenProvider: unusedProvider,
};

describe('createPostgresConnector refuses', () => {
  it('a missing password source, or one not made by @keyless/core, naming the option `password`', () => {
    for (const password of [undefined, { mode: 'key-vault-secret', secretName: 'postgres-password' }]) {
      const error = catchError(() =>
        createPostgresConnector({ ...options, password } as never),
      ) as ConfigurationError;
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toContain('No password source is configured for PostgreSQL');
      expect(error.hint).toContain('`password`');
      expect(error.hint).toContain('KEYLESS_POSTGRES_PASSWORD_SECRET');
    }
  });

  it('a tokenProvider that is not one, naming the option and never echoing it', () => {
    const error = catchError(() =>
      createPostgresConnector({ ...options, tokenProvider: { token: 'not-a-provider' } as never }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('Invalid option `tokenProvider`');
    expect((error as Error).message).not.toContain('not-a-provider');
  });

  // The connector refuses the key itself, whatever its value: even asking for what is already
  // the default is turned away, so there is no spelling of it that weakens verification.
  it('any attempt to configure TLS verification, even `ssl.rejectUnauthorized: true`', () => {
    const error = catchError(() =>
      createPostgresConnector({ ...options, ssl: { rejectUnauthorized: true } as { ca?: string } }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('rejectUnauthorized');
  });

  it('a password or connection string in the pool options, without echoing it', () => {
    const error = catchError(() =>
      createPostgresConnector({
        ...options,
        pool: { connectionString: 'postgres://app:hunter2@example/db' } as object,
      }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it.each([
    ['connectRetryMs', { connectRetryMs: -1 }],
    ['connectRetryMs', { connectRetryMs: 1.5 }],
    ['connectTimeoutMs', { connectTimeoutMs: 0 }],
    ['connectTimeoutMs', { connectTimeoutMs: 600_001 }],
  ] as const)('a bad %s (%o), naming the option', (option, bad) => {
    const error = catchError(() => createPostgresConnector({ ...options, password: entraToken(), ...bad }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`\`${option}\``);
  });
});

describe('createPostgresConnector defaults', () => {
  // Azure documents an HA failover as 60–120 s (RTO < 120 s), a restart as a minute or less, a
  // compute scale as 40–60 s seen from the application: the default budget covers all of them.
  it('waits out a server that is away for up to 120 s, with 10 s of network time per login', () => {
    for (const mode of ['key-vault-secret', 'entra-token'] as const) {
      const resolved = resolvePostgresOptions(options, mode, {});
      expect(resolved.connectRetryMs).toBe(120_000);
      expect(resolved.connectTimeoutMs).toBe(10_000);
    }
  });

  it('takes connectRetryMs: 0 (no retry) and a budget up to 10 minutes', () => {
    expect(
      resolvePostgresOptions({ ...options, connectRetryMs: 0 }, 'key-vault-secret', {}).connectRetryMs,
    ).toBe(0);
    expect(
      resolvePostgresOptions({ ...options, connectRetryMs: 600_000 }, 'key-vault-secret', {}).connectRetryMs,
    ).toBe(600_000);
  });
});
