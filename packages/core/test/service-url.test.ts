import { describe, expect, it } from 'vitest';
import { isLoopbackHost, resolveServiceUrl } from '../src/internal.js';
import { configurationError } from './support/configuration-error.js';

const base = {
  service: 'Key Vault',
  example: 'https://<vault-name>.vault.azure.net',
  option: 'vaultUrl',
  variable: 'KEYLESS_KEYVAULT_URL',
  environment: {},
};

describe('resolveServiceUrl', () => {
  it('takes the option, else the variable, and normalises to the origin (or keeps the path)', () => {
    expect(resolveServiceUrl({ ...base, value: 'https://v.vault.azure.net/' })).toBe(
      'https://v.vault.azure.net',
    );
    expect(
      resolveServiceUrl({
        ...base,
        value: undefined,
        environment: { KEYLESS_KEYVAULT_URL: 'https://e.vault.azure.net' },
      }),
    ).toBe('https://e.vault.azure.net');
    expect(
      resolveServiceUrl({ ...base, value: 'https://127.0.0.1:1000/devstoreaccount1/', keepPath: true }),
    ).toBe('https://127.0.0.1:1000/devstoreaccount1');
  });

  it('refuses http except for a loopback emulator when allowed', () => {
    expect(
      configurationError(() => resolveServiceUrl({ ...base, value: 'http://v.vault.azure.net' })).message,
    ).toContain('https only');
    expect(resolveServiceUrl({ ...base, value: 'http://127.0.0.1:10000', allowLoopbackHttp: true })).toBe(
      'http://127.0.0.1:10000',
    );
    expect(
      configurationError(() =>
        resolveServiceUrl({ ...base, value: 'http://example.com', allowLoopbackHttp: true }),
      ).message,
    ).toContain('loopback emulator');
  });

  it('refuses a SAS or credentials without repeating the value, and names option and variable', () => {
    const sas = 'https://a.blob.core.windows.net/?sv=2024&sig=c2VjcmV0LXNpZ25hdHVyZQ';
    const error = configurationError(() => resolveServiceUrl({ ...base, value: sas }));
    expect(error.message).not.toContain('c2VjcmV0LXNpZ25hdHVyZQ');
    expect(error.message).toContain('query string or credentials');
    expect(error.message).toContain('`vaultUrl`');
    expect(error.message).toContain('KEYLESS_KEYVAULT_URL');
  });

  it('says what to set when nothing is configured', () => {
    const error = configurationError(() =>
      resolveServiceUrl({ ...base, value: undefined, whereToFind: 'keyless-local prints it' }),
    );
    expect(error.message).toContain('No Key Vault URL is configured');
    expect(error.hint).toContain('keyless-local prints it');
  });
});

describe('isLoopbackHost', () => {
  it('knows this machine from everything else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '[::ffff:7f00:1]']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['10.0.0.1', 'example.com', 'localhost.example.com', '128.0.0.1', '::2']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});
