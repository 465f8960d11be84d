import { SecretClient } from '@azure/keyvault-secrets';
import { ConfigurationError, type TokenProvider } from '@keyless/core';
import type { LocalAzure } from '@keyless/local-azure';
import { type AppIdentityStack, startAppIdentityStack } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disableChallengeResourceVerificationFor,
  isLoopbackVaultUrl,
} from '../src/challenge-verification.js';
import { buildClientOptions } from '../src/connector-options.js';
import { createKeyVaultConnector } from '../src/index.js';

describe('loopback detection', () => {
  it.each([
    'https://127.0.0.1:8443/',
    'https://127.0.0.1',
    'https://127.255.3.4:1/',
    'https://localhost:8443',
    'https://LOCALHOST/',
    'https://[::1]:8443/',
    'https://[::ffff:127.0.0.1]:8443/',
  ])('%s is loopback', (url) => {
    expect(isLoopbackVaultUrl(url)).toBe(true);
  });

  it.each([
    'https://myvault.vault.azure.net/',
    'https://myvault.vault.azure.net.127.0.0.1.nip.io/',
    'https://127.0.0.1.evil.example/',
    'https://localhost.evil.example/',
    'https://10.0.0.4/',
    'https://128.0.0.1/',
    'https://[::2]/',
    'https://myvault.vault.usgovcloudapi.net/',
  ])('%s is not loopback', (url) => {
    expect(isLoopbackVaultUrl(url)).toBe(false);
  });
});

describe('the challenge-verification decision', () => {
  it('turns the check off for loopback URLs', () => {
    expect(disableChallengeResourceVerificationFor('https://127.0.0.1:8443', undefined)).toBe(true);
    expect(disableChallengeResourceVerificationFor('https://localhost:8443', undefined)).toBe(true);
  });

  it('keeps the check for real vault URLs', () => {
    expect(disableChallengeResourceVerificationFor('https://myvault.vault.azure.net', undefined)).toBe(false);
    expect(disableChallengeResourceVerificationFor('https://myvault.vault.azure.net', false)).toBe(false);
  });

  // That createKeyVaultConnector refuses it, naming the option: the configuration group in
  // test/conformance.test.ts.
  it('refuses to turn the check off for a real vault URL, even when asked', () => {
    expect(() => disableChallengeResourceVerificationFor('https://myvault.vault.azure.net', true)).toThrow(
      ConfigurationError,
    );
  });

  it('respects an explicit false for a loopback URL', () => {
    expect(disableChallengeResourceVerificationFor('https://127.0.0.1:8443', false)).toBe(false);
  });

  it('client options: SDK retries off by default (overridable), challenge check from the URL', () => {
    expect(buildClientOptions('https://myvault.vault.azure.net')).toMatchObject({
      retryOptions: { maxRetries: 0 },
      disableChallengeResourceVerification: false,
    });
    expect(
      buildClientOptions('https://127.0.0.1:8443', { retryOptions: { maxRetries: 2, retryDelayInMs: 10 } }),
    ).toMatchObject({
      retryOptions: { maxRetries: 2, retryDelayInMs: 10 },
      disableChallengeResourceVerification: true,
    });
    expect(
      buildClientOptions('https://127.0.0.1:8443', { retryOptions: { retryDelayInMs: 10 } }),
    ).toMatchObject({
      retryOptions: { maxRetries: 0, retryDelayInMs: 10 },
    });
  });
});

// Where the vault URL comes from (option, else KEYLESS_KEYVAULT_URL), and how a missing or malformed
// one is reported: the configuration group in test/conformance.test.ts.
describe('secret() options', () => {
  it('rejects bad secret names and options at secret()', () => {
    const connector = createKeyVaultConnector({
      tokenProvider: fakeProvider(),
      vaultUrl: 'https://x.vault.azure.net',
    });
    expect(() => connector.secret('not/a/name')).toThrow(ConfigurationError);
    expect(() => connector.secret('ok', { refreshIntervalMs: 0 })).toThrow(/refreshIntervalMs/);
    expect(() => connector.secret('ok', { version: '../x' })).toThrow(/version/);
    expect(connector.secret('ok')).toBe(connector.secret('ok'));
    expect(connector.secret('ok', { refreshIntervalMs: 1000 })).not.toBe(connector.secret('ok'));
  });
});

describe('against the local Key Vault emulator (real SecretClient)', () => {
  let test: AppIdentityStack;
  let stack: LocalAzure;
  let tokenProvider: TokenProvider;

  beforeAll(async () => {
    test = await startAppIdentityStack(['keyvault']);
    ({ stack, tokenProvider } = test);
  });

  afterAll(async () => {
    await test?.stop();
  });

  it('with the check on, the SDK refuses the emulator’s challenge — why loopback URLs turn it off', async () => {
    const vaultUrl = stack.env.KEYLESS_KEYVAULT_URL as string;
    const client = new SecretClient(vaultUrl, tokenProvider, { retryOptions: { maxRetries: 0 } });
    await expect(client.getSecret('demo-message')).rejects.toThrow(/does not match the requested domain/);

    const strict = createKeyVaultConnector({
      vaultUrl,
      tokenProvider,
      clientOptions: { disableChallengeResourceVerification: false },
    });
    await expect(strict.secret('demo-message').get()).rejects.toMatchObject({
      code: 'configuration',
      message: expect.stringMatching(/challenge/),
    });
    await strict.close();
  });

  it('the connector turns the check off for the loopback URL, and reads the secret', async () => {
    const connector = createKeyVaultConnector({ vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider });
    const value = await connector.secret('demo-message').get();
    expect(value.length).toBeGreaterThan(0);
    // Booleans only: a failing assertion must not print a value.
    expect(stack.keyVault?.secretValues().includes(value)).toBe(true);
    const viaClient = await connector.client.getSecret('demo-message');
    expect(viaClient.value === value).toBe(true);
    await connector.close();
  });

  it('the emulator also answers on localhost', async () => {
    const vaultUrl = (stack.env.KEYLESS_KEYVAULT_URL as string).replace('127.0.0.1', 'localhost');
    const connector = createKeyVaultConnector({ vaultUrl, tokenProvider });
    await expect(connector.secret('demo-message').get()).resolves.toEqual(expect.any(String));
    await connector.close();
  });
});

/** A provider that is never asked: these tests stop at configuration. */
function fakeProvider(): TokenProvider {
  return {
    getToken: () => Promise.reject(new Error('not used')),
  } as unknown as TokenProvider;
}
