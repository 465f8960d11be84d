// What a Key Vault connector records through OpenTelemetry when an SDK is registered (issue 14),
// against the local Key Vault emulator with the SDK's in-memory exporters: a span and a count per
// secret fetch (with the vault's address and the secret's name), failures with error.type, a
// rotation handled without a restart, the token request behind them — and no secret value or token
// in anything exported.
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type KeyVaultEmulator, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { findLeaks, useManagedIdentityEnvironment } from '@keyless/testing';
import { captureOpenTelemetry, type OpenTelemetryCapture } from '@keyless/testing/open-telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyVaultConnector, type KeyVaultConnector } from '../src/index.js';

let stack: LocalAzure;
let vault: KeyVaultEmulator;
let restoreEnvironment: () => void;
let tokenProvider: TokenProvider;
let connector: KeyVaultConnector;
let telemetry: OpenTelemetryCapture;

beforeAll(async () => {
  telemetry = captureOpenTelemetry();
  stack = await startLocalAzure({
    services: ['keyvault'],
    stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
  });
  vault = stack.keyVault as KeyVaultEmulator;
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  connector = createKeyVaultConnector({ vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider });
});

afterAll(async () => {
  await connector?.close();
  await tokenProvider?.close();
  restoreEnvironment?.();
  await stack?.stop();
  telemetry?.stop();
});

describe('OpenTelemetry from @keyless/keyvault', () => {
  it('a secret fetch is a span and a count, with the vault address and the secret name', async () => {
    vault.setSecret('otel-secret', 'otel-secret-value-1');
    await connector.secret('otel-secret').get();
    const fetches = telemetry.spans().filter((span) => span.name === 'keyless.secret.fetch');
    expect(fetches).toHaveLength(1);
    expect(fetches[0]?.attributes).toMatchObject({
      'server.address': new URL(stack.env.KEYLESS_KEYVAULT_URL as string).hostname,
      'keyless.secret.name': 'otel-secret',
    });
    expect(
      await telemetry.total('keyless.secret.refreshes', { 'keyless.outcome': 'success' }),
    ).toBeGreaterThan(0);
    // The token behind it, from @keyless/core's own instrumentation.
    expect(telemetry.spans().some((span) => span.name === 'keyless.token.acquire')).toBe(true);
  });

  it('a missing secret is an error span with error.type', async () => {
    await expect(connector.secret('otel-no-such-secret').get()).rejects.toMatchObject({
      code: 'configuration',
    });
    const failed = telemetry
      .spans()
      .find(
        (span) =>
          span.name === 'keyless.secret.fetch' &&
          span.attributes['keyless.secret.name'] === 'otel-no-such-secret',
      );
    expect(failed?.attributes['error.type']).toBe('configuration');
    expect(failed?.status.code).toBe(2);
  });

  it('a rotation handled without a restart is counted', async () => {
    vault.setSecret('otel-rotated', 'otel-rotated-value-1');
    const source = connector.secret('otel-rotated');
    await source.get();
    const before = await telemetry.total('keyless.secret.rotations', {
      'keyless.secret.name': 'otel-rotated',
    });
    vault.setSecret('otel-rotated', 'otel-rotated-value-2');
    source.invalidate();
    await source.get();
    expect(await telemetry.total('keyless.secret.rotations', { 'keyless.secret.name': 'otel-rotated' })).toBe(
      before + 1,
    );
  });

  it('exports no secret value and no token', async () => {
    const exported = await telemetry.exportedText();
    expect(exported).toContain('keyless.secret.fetch');
    expect(findLeaks(exported, vault.secretValues())).toHaveLength(0);
    expect(findLeaks(exported, stack.identity.issuedTokens())).toHaveLength(0);
  });
});
