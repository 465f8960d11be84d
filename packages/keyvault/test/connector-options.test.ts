import { ConfigurationError, type TokenProvider } from '@keyless/core';
import { describe, expect, it } from 'vitest';
import { createKeyVaultConnector } from '../src/index.js';

// Never asked for a token here: the options are checked at construction.
const tokenProvider = { getToken: async () => null } as unknown as TokenProvider;
const vaultUrl = 'https://keyless.vault.azure.net';

describe('the option tokenProvider', () => {
  it.each([{}, null, 'a-token-string', { getToken: 'not a function' }])(
    'refuses %j, naming the option and never echoing it',
    (value) => {
      const attempt = () => createKeyVaultConnector({ vaultUrl, tokenProvider: value as never });
      expect(attempt).toThrow(ConfigurationError);
      expect(attempt).toThrow(/Invalid option `tokenProvider`/);
      expect(attempt).not.toThrow(/a-token-string/);
    },
  );
});

describe('the option requestTimeoutMs', () => {
  it.each([0, -5, 1.5, '1000', 600_001])('refuses %j with ConfigurationError naming it', (value) => {
    const attempt = () =>
      createKeyVaultConnector({ vaultUrl, tokenProvider, requestTimeoutMs: value as number });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/requestTimeoutMs/);
  });

  it('accepts a whole number of milliseconds, and its absence', async () => {
    for (const requestTimeoutMs of [undefined, 1, 30_000]) {
      const connector = createKeyVaultConnector({ vaultUrl, tokenProvider, requestTimeoutMs });
      await connector.close();
    }
  });
});
