import { inspect } from 'node:util';
import {
  AuthorizationError,
  ConfigurationError,
  CredentialUnavailableError,
  createTokenProvider,
  type KeylessError,
  REDACTED,
  ThrottledError,
  type TokenProvider,
} from '@keyless/core';
import { redactKnownSecrets } from '@keyless/core/internal';
import { type KeyVaultEmulator, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { findLeaks, OutputCapture, renderEveryWay, useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  KeyVaultConnector,
  KeyVaultConnectorOptions,
  SecretChangeEvent,
  SecretRefreshFailedEvent,
  SecretSource,
} from '../src/index.js';
import { createKeyVaultConnectorWithInternals, type KeyVaultConnectorInternals } from '../src/testing.js';

let stack: LocalAzure;
let vault: KeyVaultEmulator;
let restoreEnvironment: () => void;
let tokenProvider: TokenProvider;
const connectors: KeyVaultConnector[] = [];

beforeAll(async () => {
  stack = await startLocalAzure({
    services: ['keyvault'],
    stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
  });
  vault = stack.keyVault as KeyVaultEmulator;
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
});

afterEach(async () => {
  vault.faults.clear();
  for (const connector of connectors.splice(0)) await connector.close();
});

afterAll(async () => {
  await tokenProvider?.close();
  restoreEnvironment?.();
  await stack?.stop();
});

function connect(
  options: Omit<KeyVaultConnectorOptions, 'vaultUrl'> = {},
  internals: KeyVaultConnectorInternals = {},
): KeyVaultConnector {
  const connector = createKeyVaultConnectorWithInternals(
    { vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider, ...options },
    internals,
  );
  connectors.push(connector);
  return connector;
}

function nextEvent<Event>(subscribe: (listener: (event: Event) => void) => () => void): Promise<Event> {
  return new Promise((resolve) => {
    const unsubscribe = subscribe((event) => {
      unsubscribe();
      resolve(event);
    });
  });
}

const nextChange = (source: SecretSource) =>
  nextEvent<SecretChangeEvent>((listener) => source.on('change', listener));
const nextRefreshFailure = (source: SecretSource) =>
  nextEvent<SecretRefreshFailedEvent>((listener) => source.on('refresh-failed', listener));

/** Compares without ever putting a value into an assertion message. */
function same(actual: string, expected: string): boolean {
  return actual === expected;
}

describe('secret source against the local Key Vault emulator', () => {
  it('1,000 concurrent cold get() make one GET; cached reads make none', async () => {
    const { version } = vault.setSecret('single-flight', 'single-flight-value-1');
    const connector = connect();
    const source = connector.secret('single-flight');
    const gets = vault.counters.byOperation('getSecret');
    const challenges = vault.counters.byStatus(401);
    const values = await Promise.all(Array.from({ length: 1000 }, () => source.get()));
    expect(values.every((value) => same(value, 'single-flight-value-1'))).toBe(true);
    // A new SecretClient's first request goes out without a token and comes back 401 with the
    // challenge (the emulator counts it as a getSecret too); the SDK then sends it with the token.
    expect(vault.counters.byStatus(401) - challenges).toBe(1);
    expect(vault.counters.byOperation('getSecret') - gets).toBe(2);
    expect(source.version).toBe(version);

    const afterFirst = vault.counters.requests;
    for (let index = 0; index < 200; index += 1) await source.get();
    await Promise.all(Array.from({ length: 200 }, () => source.get()));
    expect(vault.counters.requests).toBe(afterFirst);
  });

  it('rotation: after the refresh interval get() returns the new value; the change event has versions only', async () => {
    const first = vault.setSecret('rotating', 'rotating-value-1');
    const connector = connect();
    const source = connector.secret('rotating', { refreshIntervalMs: 300 });
    expect(same(await source.get(), 'rotating-value-1')).toBe(true);

    const changed = nextChange(source);
    const second = vault.setSecret('rotating', 'rotating-value-2');
    const event = await changed;
    expect(event).toEqual({ name: 'rotating', previousVersion: first.version, version: second.version });
    expect(JSON.stringify(event)).not.toContain('rotating-value');
    expect(same(await source.get(), 'rotating-value-2')).toBe(true);
    expect(source.version).toBe(second.version);
  });

  it('503 after a value: serves the last good value, emits refresh-failed, recovers when the fault clears', async () => {
    vault.setSecret('outage', 'outage-value-1');
    const connector = connect({}, { baseRetryDelayMs: 50, maxRetryDelayMs: 200 });
    const source = connector.secret('outage', { refreshIntervalMs: 200 });
    expect(same(await source.get(), 'outage-value-1')).toBe(true);

    const unavailable = vault.counters.byStatus(503);
    vault.faults.failWith(503, { count: 3 });
    const failure = await nextRefreshFailure(source);
    expect(failure).toMatchObject({
      name: 'outage',
      servingLastGood: true,
      error: { code: 'unavailable', status: 503 },
    });
    expect(same(await source.get(), 'outage-value-1')).toBe(true);

    // Three failed attempts, backing off, then the fault is used up and a rotation comes through.
    const recovered = nextChange(source);
    vault.setSecret('outage', 'outage-value-2');
    await recovered;
    expect(vault.counters.byStatus(503) - unavailable).toBe(3);
    expect(same(await source.get(), 'outage-value-2')).toBe(true);
  });

  it('429 before any value: ThrottledError with retryAfterMs, one request (no SDK retries), none before Retry-After', async () => {
    vault.setSecret('throttled', 'throttled-value');
    const connector = connect();
    const source = connector.secret('throttled');
    const throttledBefore = vault.counters.byStatus(429);
    vault.faults.failWith(429, { count: 1, retryAfterSeconds: 1 });
    const error = await source.get().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ code: 'throttled', status: 429, retryAfterMs: 1000, retryable: true });
    expect(vault.counters.byStatus(429) - throttledBefore).toBe(1);

    const requests = vault.counters.requests;
    await expect(source.get()).rejects.toMatchObject({ code: 'throttled' });
    expect(vault.counters.requests).toBe(requests);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(same(await source.get(), 'throttled-value')).toBe(true);
  });

  it('invalidate(): the next get() fetches afresh, single flight, and the stale value is not served', async () => {
    vault.setSecret('refused-login', 'password-old');
    const connector = connect();
    const source = connector.secret('refused-login');
    expect(same(await source.get(), 'password-old')).toBe(true);
    const rotated = vault.setSecret('refused-login', 'password-new');
    // Cached for five minutes: without invalidate() the old value keeps serving.
    expect(same(await source.get(), 'password-old')).toBe(true);

    source.invalidate();
    const gets = vault.counters.byOperation('getSecret');
    const values = await Promise.all(Array.from({ length: 100 }, () => source.get()));
    expect(values.every((value) => same(value, 'password-new'))).toBe(true);
    expect(vault.counters.byOperation('getSecret') - gets).toBe(1);
    expect(source.version).toBe(rotated.version);
  });

  it('403 for an identity without a role: AuthorizationError naming the role to grant, not retried', async () => {
    const systemAssigned = createTokenProvider({ identity: 'system-assigned' });
    try {
      const connector = connect({ tokenProvider: systemAssigned });
      const forbidden = vault.counters.byStatus(403);
      const error = (await connector
        .secret('demo-message')
        .get()
        .catch((caught: unknown) => caught)) as KeylessError;
      expect(error).toBeInstanceOf(AuthorizationError);
      expect(error).toMatchObject({ code: 'authorization', status: 403, retryable: false });
      expect(error.hint).toContain('Key Vault Secrets User');
      expect(error.hint).toContain(
        'az role assignment create --role "Key Vault Secrets User" --assignee <principal-id> --scope <vault-resource-id>',
      );
      expect(error.message).toContain('ForbiddenByRbac');
      expect(vault.counters.byStatus(403) - forbidden).toBe(1);
    } finally {
      await systemAssigned.close();
    }
  });

  it("the provider's own KeylessError passes through unchanged", async () => {
    const unavailable = new CredentialUnavailableError('no managed identity here');
    const failing = { getToken: () => Promise.reject(unavailable) } as unknown as TokenProvider;
    const connector = connect({ tokenProvider: failing });
    await expect(connector.secret('demo-message').get()).rejects.toBe(unavailable);
  });

  it('a pinned version is served even after a rotation', async () => {
    const pinned = vault.setSecret('pinned', 'pinned-value-1');
    vault.setSecret('pinned', 'pinned-value-2');
    const connector = connect();
    const source = connector.secret('pinned', { version: pinned.version });
    expect(same(await source.get(), 'pinned-value-1')).toBe(true);
    expect(source.version).toBe(pinned.version);
  });

  it('connect(): a token for Key Vault without a request to the vault; named secrets read once and cached', async () => {
    const connector = connect();
    const requests = vault.counters.requests;
    await connector.connect();
    expect(vault.counters.requests).toBe(requests);

    await connector.connect({ secrets: ['demo-message'] });
    const afterConnect = vault.counters.requests;
    expect(afterConnect).toBeGreaterThan(requests);
    await connector.secret('demo-message').get();
    expect(vault.counters.requests).toBe(afterConnect);
  });

  it('connect() rejects with the typed error of what is wrong, and ClosedError after close()', async () => {
    const connector = connect();
    const missing = await connector
      .connect({ secrets: ['no-such-secret'] })
      .catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(ConfigurationError);
    expect((missing as Error).message).toContain('no-such-secret');
    await expect(connector.connect({ secrets: ['not/a/name'] })).rejects.toBeInstanceOf(ConfigurationError);

    const unavailable = new CredentialUnavailableError('no managed identity here');
    const noIdentity = connect({
      tokenProvider: { getToken: () => Promise.reject(unavailable) } as unknown as TokenProvider,
    });
    await expect(noIdentity.connect()).rejects.toBe(unavailable);

    await connector.close();
    await expect(connector.connect()).rejects.toMatchObject({ code: 'closed' });
  });

  // close() twice, and one use after it: the lifecycle group in test/conformance.test.ts.
  it('close(): every entry point and a source made before refuse with ClosedError, and no timer is left', async () => {
    const connector = connect();
    const source = connector.secret('demo-message', { refreshIntervalMs: 100 });
    await source.get();
    await connector.close();
    await expect(source.get()).rejects.toMatchObject({ code: 'closed' });
    expect(() => connector.client).toThrow(expect.objectContaining({ code: 'closed' }));
    expect(() => connector.secret('demo-message')).toThrow(expect.objectContaining({ code: 'closed' }));
    // No timer left: a refresh would show up as a request.
    const requests = vault.counters.requests;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(vault.counters.requests).toBe(requests);
  });

  it('canary: no value in inspect, JSON, events or error text', async () => {
    vault.setSecret('canary-rotating', 'canary-rotating-value-1');
    const capture = new OutputCapture({ passThrough: false }).start();
    try {
      const connector = connect({}, { baseRetryDelayMs: 20, maxRetryDelayMs: 50 });
      const demo = connector.secret('demo-message');
      const rotating = connector.secret('canary-rotating', { refreshIntervalMs: 100 });
      await demo.get();
      await rotating.get();
      const changed = nextChange(rotating);
      vault.setSecret('canary-rotating', 'canary-rotating-value-2');
      const change = await changed;
      vault.faults.failWith(503, { count: 1 });
      const failure = await nextRefreshFailure(rotating);
      const notFound = await connector
        .secret('missing-secret')
        .get()
        .catch((caught: unknown) => caught);
      demo.invalidate();
      const printable = [connector, demo, rotating, change, failure, failure.error, notFound];
      console.log('printed', ...printable);
      capture.add(...printable.flatMap(renderEveryWay), inspect(connector, { showHidden: true, depth: 10 }));
    } finally {
      capture.stop();
    }
    expect(capture.text).toContain('demo-message');
    // Every fetched value is registered, so driver errors that quote it are scrubbed too.
    const scrubbed = redactKnownSecrets('login failed with canary-rotating-value-2');
    expect(scrubbed.includes('canary-rotating-value-2')).toBe(false);
    expect(scrubbed.includes(REDACTED)).toBe(true);
    expect(findLeaks(capture.text, vault.secretValues()).length).toBe(0);
  });
});
