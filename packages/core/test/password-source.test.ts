import { describe, expect, it } from 'vitest';
import { ConfigurationError, entraToken, fromKeyVaultSecret } from '../src/index.js';
import { isPasswordSource } from '../src/internal.js';

describe('password sources', () => {
  it('hold names, never values, and are frozen', () => {
    const secret = fromKeyVaultSecret({
      secretName: ' app-password ',
      vaultUrl: 'https://v.vault.azure.net',
    });
    expect(secret).toEqual({
      kind: 'key-vault-secret',
      secretName: 'app-password',
      vaultUrl: 'https://v.vault.azure.net',
      connector: undefined,
      refreshIntervalMs: undefined,
    });
    expect(Object.isFrozen(secret)).toBe(true);
    expect(entraToken()).toEqual({ kind: 'entra-token', scope: undefined });
    expect(isPasswordSource(secret)).toBe(true);
    expect(isPasswordSource(entraToken())).toBe(true);
    expect(isPasswordSource({ mode: 'entra-token' })).toBe(false);
  });

  it.each([
    [
      'connector and vaultUrl together',
      () => fromKeyVaultSecret({ connector: { secret: () => undefined }, vaultUrl: 'https://v' }),
    ],
    ['a connector that is not one', () => fromKeyVaultSecret({ connector: {} as never })],
    ['an empty secret name', () => fromKeyVaultSecret({ secretName: ' ' })],
    ['a zero refresh interval', () => fromKeyVaultSecret({ refreshIntervalMs: 0 })],
    ['a scope that is not a resource scope', () => entraToken({ scope: 'https://redis.azure.com' })],
  ])('refuses %s with ConfigurationError', (_name, make) => {
    expect(make).toThrow(ConfigurationError);
  });
});
